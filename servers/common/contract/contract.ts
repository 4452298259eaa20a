import { registryDocument, runtimeDocument } from './documents.generated.js';
import { SchemaCompiler } from './validation.js';

export { registryDocument, runtimeDocument };

/** One compiler for both documents, so the runtime can use the registry's schemas by reference. */
export const contract = new SchemaCompiler({ registry: registryDocument, runtime: runtimeDocument });
