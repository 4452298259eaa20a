// The pure encoding of notices between runtime processes (store/notice-payloads.ts).
import assert from 'node:assert/strict';
import type { Notice } from '../../servers/runtime/store/interfaces.js';
import { decodePayload, encodePayloads, MAX_PAYLOAD_BYTES } from '../../servers/runtime/store/notice-payloads.js';

const change = (name: string): Notice => ({
  kind: 'change',
  change: { name, change: 'state', state: 'running', run: 1, at: '2026-01-01T00:00:00.000Z' },
});

describe('notice payloads', () => {
  it('sends a few notices as one payload that decodes to its sender and notices', () => {
    const notices: Notice[] = [{ kind: 'events', session: 'a', first: 3, last: 7 }, change('a')];
    const payloads = encodePayloads('process-1', notices);
    assert.equal(payloads.length, 1);
    assert.deepEqual(decodePayload(payloads[0]), { from: 'process-1', notices });
  });

  it("cuts many notices into payloads under PostgreSQL's limit, in order, losing none", () => {
    const notices = Array.from({ length: 500 }, (_, i) => change(`session-${i}-${'é'.repeat(30)}`));
    const payloads = encodePayloads('p', notices);
    assert.ok(payloads.length > 1);
    for (const payload of payloads)
      assert.ok(Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES, `${Buffer.byteLength(payload)} bytes`);
    assert.deepEqual(
      payloads.flatMap((p) => decodePayload(p)!.notices),
      notices,
    );
  });

  it('sends nothing for no notice, and refuses one notice too long for a payload', () => {
    assert.deepEqual(encodePayloads('p', []), []);
    assert.throws(() => encodePayloads('p', [change('x'.repeat(MAX_PAYLOAD_BYTES))]), /too long to send/);
  });

  it('ignores payloads that are not ours', () => {
    for (const text of [undefined, '', 'not json', '{"from":1,"notices":[]}', '{"from":"p"}', '[]'])
      assert.equal(decodePayload(text), null, String(text));
  });
});
