import assert from 'node:assert/strict';
import { registryDocument, runtimeDocument } from '../../servers/common/contract/contract.js';
import { compileContract } from '../../servers/common/http/operations.js';
import { SchemaCompiler } from '../../servers/common/contract/validation.js';

// Servers compile an operation's validators when it is first called, and without checking the schemas
// against JSON Schema's meta-schema: this checks and compiles all of them, so a schema Ajv refuses fails
// here rather than on some request in production.
describe('the contract compiles', () => {
  const contract = new SchemaCompiler(
    { registry: registryDocument, runtime: runtimeDocument },
    { validateSchemas: true },
  );
  for (const [name, document] of [
    ['registry', registryDocument],
    ['runtime', runtimeDocument],
  ] as const) {
    it(`every operation of ${name}.yaml has validators`, () => {
      const operations = compileContract(name, document, contract);
      const declared = Object.values(document.paths).flatMap((item) =>
        ['get', 'put', 'post', 'delete', 'patch'].filter((method) => (item as Record<string, unknown>)[method]),
      );
      assert.equal(operations.length, declared.length);
      assert.ok(operations.length > 5);
    });
  }
});
