/** A text frame, or a Buffer to send as a binary frame. */
export type Frame = string | Buffer;

/**
 * Frames an attacker might send, drawn by a seeded random source so a failure reproduces: binary and
 * broken JSON, every request type with wrong, huge, deep, NUL-laden and prototype-polluting values,
 * and names of real agents among them. Returns a function that draws the next frame.
 */
export function hostileFrames(random: () => number, agentIds: readonly string[]): () => Frame {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (max: number) => Math.floor(random() * max);
  const randomString = (length: number) => Array.from({ length }, () => String.fromCharCode(int(0x3000))).join('');
  const types = [
    'hello',
    'heartbeat',
    'presence.roster',
    'dm.send',
    'dm.ack',
    'dm.fetch',
    'activity.broadcast',
    'memory.set',
    'memory.get',
    'memory.list',
    'memory.delete',
    'task.submit',
    'task.get',
    'task.claim',
    'task.result',
    'HELLO',
    'dm',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
    'a'.repeat(65),
  ];
  const weird: unknown[] = [
    null,
    true,
    0,
    -1,
    1e308,
    -0,
    2 ** 53 + 1,
    '',
    'x'.repeat(600),
    '\u0000',
    '\ud800',
    '🦀'.repeat(60),
    [],
    {},
    [1, [2, [3]]],
    { __proto__: { polluted: 1 } },
    { constructor: { prototype: { polluted: 1 } } },
    'ag_' + 'x'.repeat(70),
    'tsk_../../etc',
    "'; DROP TABLE agents; --",
    '%00',
    '$1',
    ...agentIds,
  ];
  const value = (): unknown => pick(weird);
  const payloadFor = (): Record<string, unknown> => {
    const keys = [
      'to',
      'body',
      'seq',
      'afterSeq',
      'limit',
      'key',
      'value',
      'prefix',
      'after',
      'ifVersion',
      'data',
      'tags',
      'kind',
      'capabilities',
      'payload',
      'taskId',
      'result',
      'error',
      'apiKey',
      'agent',
      'resume',
      'load',
      'status',
      'fleetId',
      'tenantId',
      '__proto__',
    ];
    const payload: Record<string, unknown> = {};
    for (let i = int(4); i >= 0; i--)
      Object.defineProperty(payload, pick(keys), {
        value: value(),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    return payload;
  };
  const cases: Array<() => Frame> = [
    () => Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256))), // binary frame
    () => randomString(1 + int(200)),
    () => JSON.stringify({ type: pick(types), id: String(int(1e6)), payload: payloadFor() }).slice(0, 1 + int(80)),
    () => JSON.stringify(value()),
    () => JSON.stringify({ type: pick(types), id: value(), payload: value(), idempotencyKey: value() }),
    () => JSON.stringify({ type: pick(types), id: `f${int(1e6)}`, payload: payloadFor() }),
    () => JSON.stringify({ type: pick(types), id: `f${int(1e6)}`, payload: payloadFor(), extra: value() }),
    () => `{"type":"memory.set","id":"p","payload":{"key":"k","value":1},"__proto__":{"polluted":true}}`,
    () => `{"type":"dm.send","id":"c","payload":{"to":"ag_x","body":{"constructor":{"prototype":{"polluted":true}}}}}`,
    () => '['.repeat(5_000 + int(20_000)) + ']'.repeat(int(10)),
    () =>
      JSON.stringify({
        type: 'memory.set',
        id: 'deep',
        payload: { key: 'deep', value: JSON.parse('['.repeat(2_000) + ']'.repeat(2_000)) },
      }),
    () =>
      JSON.stringify({
        type: 'memory.set',
        id: 'big',
        payload: { key: 'big', value: 'x'.repeat(1_048_576 + int(1_000)) },
      }),
    () =>
      JSON.stringify({
        type: 'dm.send',
        id: 'bigdm',
        payload: { to: pick(agentIds), body: 'x'.repeat(102_400 + int(100)) },
      }),
    () =>
      JSON.stringify({
        type: 'hello',
        id: 'h',
        payload: { apiKey: `rf_${'A'.repeat(43)}`, agent: { name: randomString(int(150)) } },
      }),
    () => JSON.stringify({ type: 'memory.set', id: 'nul', payload: { key: `k\u0000${int(9)}`, value: '\u0000' } }),
    () =>
      JSON.stringify({
        type: 'task.submit',
        id: 't',
        payload: { capabilities: Array.from({ length: int(40) }, () => randomString(int(60))), payload: value() },
      }),
    () => '{"type":"dm.fetch","id":"n","payload":{"afterSeq":1e999}}',
    () => '{"type":"dm.ack","id":"n","payload":{"seq":-9223372036854775809}}',
    () => JSON.stringify({ type: 'memory.list', id: 'l', payload: { prefix: '%', limit: 1_000 } }),
    () => '',
    () => 'null',
    () => '\ufeff{}',
  ];
  return () => pick(cases)();
}
