// The servers' logger: the readable form, the JSON form with the request's id and session, and
// secrets replaced wherever a message or an error quotes them.
import assert from 'node:assert/strict';
import { createLogger } from '../../servers/common/logger.js';
import { noteOperation, withRequest } from '../../servers/common/request-context.js';

/** What `work` writes to stderr, line by line. */
function captured(work: () => void): string[] {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    work();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

describe('logger', () => {
  it('writes one JSON object per line, with the request id and session of the request being handled', () => {
    const logger = createLogger('runtime', { format: 'json' });
    const lines = captured(() => {
      logger.info('outside');
      withRequest({ requestId: 'req-1' }, () => {
        noteOperation('getSession', 'fix-tests');
        logger.warn('inside', { run: 2 });
        logger.error('failed', new Error('boom'));
      });
    });
    const [outside, inside, failed] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      { ...outside, time: undefined },
      {
        time: undefined,
        level: 'info',
        service: 'runtime',
        message: 'outside',
      },
    );
    assert.deepEqual(
      { ...inside, time: undefined },
      {
        time: undefined,
        level: 'warn',
        service: 'runtime',
        message: 'inside',
        request_id: 'req-1',
        session: 'fix-tests',
        run: 2,
      },
    );
    assert.equal(failed?.request_id, 'req-1');
    assert.match(String(failed?.error), /^Error: boom/);
    assert.ok(!Number.isNaN(Date.parse(String(outside?.time))));
  });

  it('replaces secrets in messages and errors, in both forms', () => {
    const secrets = ['s3cret-token', 'hunter22'];
    for (const format of ['text', 'json'] as const) {
      const logger = createLogger('runtime', { format, secrets });
      const lines = captured(() => {
        logger.info('token s3cret-token in a message');
        logger.error('could not connect', new Error('password authentication failed: hunter22'));
      });
      const all = lines.join('\n');
      assert.ok(!all.includes('s3cret-token') && !all.includes('hunter22'), all);
      assert.equal(all.split('[redacted]').length - 1, 2, all);
    }
  });

  it('keeps the readable form by default and writes request lines only in the JSON form', () => {
    assert.equal(createLogger('runtime').request, undefined);
    const [line] = captured(() => createLogger('registry').warn('careful'));
    assert.match(line!, /^\d{4}-\d\d-\d\dT[\d:.]+Z registry warn careful$/);
    assert.equal(typeof createLogger('runtime', { format: 'json' }).request, 'function');
  });
});
