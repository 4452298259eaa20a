// What the runtime adds to a run's answer when the session has an output schema: parsing and
// validating it (servers/common/contract/output-schema.ts), next to a bare JSON.parse of the same text, at
// several answer sizes; and compiling a schema the first time next to a cached one.
//
//   node --import tsx bench/output-schema.ts [--sizes 10,1000,100000] [--rounds 5]
import { parseArgs } from 'node:util';
import { checkOutput, compileOutputSchema } from '../servers/common/contract/output-schema.js';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '10,1000,100000' }, rounds: { type: 'string', default: '5' } },
});
const sizes = values.sizes!.split(',').map(Number);
const rounds = Number(values.rounds);

const schema = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'title'],
        properties: {
          id: { type: 'integer' },
          title: { type: 'string', maxLength: 200 },
          tags: { type: 'array', items: { enum: ['a', 'b', 'c'] } },
        },
      },
    },
  },
};

/** Median ms per call of `fn`, calling it for ~`ms` per round. */
function time(fn: () => unknown, ms = 150): number {
  const samples: number[] = [];
  const end = Date.now() + ms;
  do {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  } while (Date.now() < end || samples.length < 3);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

console.log('answer items | chars     | bare JSON.parse ms | parse + validate ms | ratio');
for (const size of sizes) {
  const text = JSON.stringify({
    items: Array.from({ length: size }, (_, i) => ({ id: i, title: `item ${i}`, tags: ['a', 'b'] })),
  });
  let bare = Infinity;
  let checked = Infinity;
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so that a busy neighbour slows both sides alike.
    bare = Math.min(
      bare,
      time(() => JSON.parse(text)),
    );
    checked = Math.min(
      checked,
      time(() => {
        if (!checkOutput(schema, text).valid) throw new Error('invalid');
      }),
    );
  }
  console.log(
    `${String(size).padStart(12)} | ${String(text.length).padStart(9)} | ${bare.toFixed(3).padStart(18)} | ${checked.toFixed(3).padStart(19)} | ${(checked / bare).toFixed(2)}`,
  );
}

let first = Infinity;
let cached = Infinity;
for (let round = 0; round < rounds; round++) {
  // A schema not seen yet (a fresh `$comment` makes it new), then the same one again.
  const fresh = { ...schema, $comment: `round ${round} ${Math.random()}` };
  const t0 = process.hrtime.bigint();
  compileOutputSchema(fresh);
  first = Math.min(first, Number(process.hrtime.bigint() - t0) / 1e6);
  cached = Math.min(
    cached,
    time(() => compileOutputSchema(fresh)),
  );
}
console.log(
  `\ncompile a new schema: ${first.toFixed(2)} ms; a cached one: ${cached.toFixed(4)} ms (ratio ${(first / cached).toFixed(0)})`,
);
