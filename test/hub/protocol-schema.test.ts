/*
 * The generated protocol description against the AsyncAPI 3.0 specification, against the committed
 * files, and against what a real hub sends: every frame an embedded hub sends while every request
 * type, every event and most error codes are driven is validated against the generated schemas.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import specs from '@asyncapi/specs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import WebSocket from 'ws';
import type { z } from 'zod';
import {
  ASYNCAPI_PATH,
  generatedFiles,
  generateSection,
  SECTION_END,
  SECTION_START,
  withSection,
} from '../../scripts/hub-protocol.ts';
import type { Hub } from '../../src/hub/hub.ts';
import type { PresenceEvent, RosterEntry } from '../../src/hub/presence/presence.ts';
import { asyncApiDocument, messages, REQUESTS } from '../../src/hub/protocol/asyncapi.ts';
import { parseEnvelope } from '../../src/hub/protocol/envelope.ts';
import type { ErrorBody } from '../../src/hub/protocol/errors.ts';
import {
  activityEventSchema,
  directMessageSchema,
  dmSendReplySchema,
  errorBodySchema,
  EVENT_NAMES,
  memoryGetReplySchema,
  memoryListingSchema,
  presenceEventSchema,
  REQUEST_TYPES,
  rosterEntrySchema,
  taskViewSchema,
  type RequestType,
} from '../../src/hub/protocol/replies.ts';
import type { MemoryEntry, MemoryListing } from '../../src/hub/services/memory.ts';
import type { DirectMessage, SendReceipt } from '../../src/hub/services/messages.ts';
import type { TaskView } from '../../src/hub/services/tasks.ts';
import type { ActivityNotice } from '../../src/hub/ws/handlers.ts';
import { handlers } from '../../src/hub/ws/handlers.ts';
import { Admin, startBacking, startTestHub, type Backing } from './helpers/hub-harness.ts';

/*
 * The types the hub's code builds its frames from and the documented shapes must agree (typecheck
 * fails otherwise). `Plain` drops readonly, which only the TypeScript side has.
 */
type Plain<T> = T extends readonly (infer U)[]
  ? Plain<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Plain<T[K]> }
    : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Documents<S extends z.ZodType, T> = Same<z.infer<S>, Plain<T>>;
const shapesAgree: [
  Documents<typeof taskViewSchema, TaskView>,
  Documents<typeof rosterEntrySchema, Omit<RosterEntry, 'replicaId'>>,
  Documents<typeof directMessageSchema, DirectMessage>,
  Documents<typeof dmSendReplySchema, SendReceipt>,
  Documents<typeof memoryGetReplySchema, MemoryEntry>,
  Documents<typeof memoryListingSchema, MemoryListing>,
  Documents<typeof activityEventSchema, Omit<ActivityNotice, 'kind'>>,
  Documents<typeof presenceEventSchema, Omit<PresenceEvent, 'kind'>>,
  // The documented rule and scope names are a subset of the strings the type allows.
  z.infer<typeof errorBodySchema> extends ErrorBody ? true : false,
] = [true, true, true, true, true, true, true, true, true];

function ajv(): Ajv {
  // Strict, except that a `required` in a oneOf branch may name a property defined beside the oneOf.
  const instance = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats.default(instance);
  instance.addKeyword('x-rule');
  return instance;
}

const describeErrors = (errors: readonly ErrorObject[] | null | undefined) =>
  (errors ?? [])
    .map((e) => {
      const detail =
        e.keyword === 'additionalProperties'
          ? ` (${String(e.params.additionalProperty)})`
          : e.keyword === 'const' || e.keyword === 'enum'
            ? ` (${JSON.stringify(e.params.allowedValue ?? e.params.allowedValues)})`
            : '';
      return `${e.instancePath || '/'} ${e.message}${detail}`;
    })
    .join('; ');

describe('hub protocol schemas', () => {
  describe('the AsyncAPI document', () => {
    const asyncApiValidator = () => {
      // The spec schema embeds its own copy of the draft-07 meta-schema; the variant without ids
      // does not clash with Ajv's. The spec schema itself does not satisfy Ajv's strict mode.
      const instance = new Ajv({ allErrors: true, strict: false });
      addFormats.default(instance);
      return instance.compile(specs.schemasWithoutId['3.0.0']);
    };

    it('is a valid AsyncAPI 3.0.0 document, as generated and as committed', () => {
      const validate = asyncApiValidator();
      assert.ok(validate(asyncApiDocument()), describeErrors(validate.errors));
      const committed = JSON.parse(readFileSync(ASYNCAPI_PATH, 'utf8'));
      assert.ok(validate(committed), `${ASYNCAPI_PATH}: ${describeErrors(validate.errors)}`);
    });

    it('would be caught by the same validation if it were broken', () => {
      const validate = asyncApiValidator();
      const breakages: Record<string, (doc: any) => void> = {
        'no title': (doc) => delete doc.info.title,
        'an AsyncAPI 2 action': (doc) => (doc.operations['send.dm.send'].action = 'publish'),
        'an operation without a channel': (doc) => delete doc.operations['receive.dm'].channel,
        'an unknown top-level field': (doc) => (doc.topics = {}),
        'a payload that is no JSON Schema': (doc) =>
          (doc.components.messages['reply.heartbeat'].payload.properties.ok.type = 'bool'),
        'a message field AsyncAPI does not know': (doc) => (doc.components.messages.error.schema_ = {}),
      };
      for (const [name, breakIt] of Object.entries(breakages)) {
        const doc = asyncApiDocument();
        breakIt(doc);
        assert.equal(validate(doc), false, `a document with ${name} passed validation`);
      }
    });

    it('has only references that resolve, and operations use messages of their own channel', () => {
      const doc = asyncApiDocument();
      const resolve = (ref: string) =>
        ref
          .slice(2)
          .split('/')
          .reduce<any>((node, part) => node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
      const refs: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (typeof node === 'object' && node !== null) {
          for (const [key, value] of Object.entries(node)) {
            if (key === '$ref' && typeof value === 'string') refs.push(value);
            else walk(value);
          }
        }
      };
      walk(doc);
      assert.ok(refs.length > 50);
      for (const ref of refs) assert.notEqual(resolve(ref), undefined, `${ref} does not resolve`);
      for (const [id, operation] of Object.entries(doc.operations as Record<string, any>)) {
        const channel: string = operation.channel.$ref;
        for (const message of [...operation.messages, ...(operation.reply?.messages ?? [])]) {
          assert.ok(message.$ref.startsWith(`${channel}/messages/`), `${id}: ${message.$ref} is not in ${channel}`);
        }
      }
    });

    it('describes every request type the hub handles and every event', () => {
      assert.deepEqual([...REQUEST_TYPES].sort(), ['hello', ...Object.keys(handlers)].sort());
      const ids = Object.keys(messages());
      for (const type of REQUEST_TYPES)
        assert.ok(ids.includes(`request.${type}`) && ids.includes(REQUESTS[type].reply));
      for (const event of EVENT_NAMES) assert.ok(ids.includes(`event.${event}`));
    });

    it('states the request envelope exactly as the hub parses it', () => {
      const validate = ajv().compile(messages()['request.heartbeat']!.payload);
      const frames: unknown[] = [
        { type: 'heartbeat' },
        { type: 'heartbeat', id: 'r1', payload: {}, idempotencyKey: 'k' },
        { type: 'heartbeat', id: 'a'.repeat(128) },
        { type: 'heartbeat', id: 'a'.repeat(129) },
        { type: 'heartbeat', id: '' },
        { type: 'heartbeat', id: 'with space' },
        { type: 'heartbeat', id: 7 },
        { type: 'heartbeat', idempotencyKey: '' },
        { type: 'heartbeat', payload: [] },
        { type: 'heartbeat', payload: null },
        { type: 'heartbeat', extra: true },
        { type: 'Heartbeat' },
        { id: 'r1' },
      ];
      for (const frame of frames) {
        let parsed = true;
        try {
          parseEnvelope(frame);
        } catch {
          parsed = false;
        }
        assert.equal(validate(frame), parsed, `${JSON.stringify(frame)}: the hub says ${parsed}`);
      }
    });
  });

  it('states what handlers check beyond the zod shapes: task.result takes exactly one outcome', () => {
    const validate = ajv().compile(messages()['request.task.result']!.payload);
    const frame = (payload: object) => ({ type: 'task.result', payload: { taskId: 'tsk_1', ...payload } });
    assert.equal(validate(frame({ result: null })), true);
    assert.equal(validate(frame({ error: 'failed' })), true);
    assert.equal(validate(frame({})), false);
    assert.equal(validate(frame({ result: 1, error: 'both' })), false);
  });

  describe('generated files', () => {
    it('src/hub/asyncapi.json and the PROTOCOL.md section are what npm run hub:protocol writes', async () => {
      for (const file of await generatedFiles()) {
        assert.ok(file.current === file.expected, `${file.path} is out of date: run npm run hub:protocol`);
      }
    });

    it('rewrites only what is between the markers, and appends them when absent', async () => {
      const section = await generateSection();
      const document = `# Title\n\nprose\n\n${SECTION_START}\n\nold\n\n${SECTION_END}\n\nafter\n`;
      assert.equal(
        withSection(document, section),
        `# Title\n\nprose\n\n${SECTION_START}\n\n${section}\n\n${SECTION_END}\n\nafter\n`,
      );
      assert.equal(withSection('# Title\n', 'S'), `# Title\n\n${SECTION_START}\n\nS\n\n${SECTION_END}\n`);
      const twice = withSection(withSection('# Title\n', section), section);
      assert.equal(twice, withSection('# Title\n', section));
    });
  });

  describe('real traffic of an embedded hub', () => {
    let backing: Backing;
    let hub: Hub;
    let apiKey: string;
    const all = messages();
    const instance = ajv();
    const validators: Record<string, ValidateFunction> = Object.fromEntries(
      Object.entries(all).map(([id, message]) => [id, instance.compile(message.payload)]),
    );
    const failures: string[] = [];
    const okReplies = new Set<string>();
    const events = new Set<string>();
    const errorCodes = new Set<string>();
    let framesSeen = 0;

    /** Checks one frame the hub sent; `request` is the frame it answers, when it carried a known id. */
    function check(label: string, frame: any, request: any): void {
      framesSeen++;
      let id: string | undefined;
      if (frame?.type === 'event') id = `event.${frame.event}`;
      else if (frame?.type === 'reply' && frame.ok === false) id = 'error';
      else if (frame?.type === 'reply' && frame.ok === true) {
        const type = request?.type as RequestType | undefined;
        id = type !== undefined && Object.hasOwn(REQUESTS, type) ? REQUESTS[type].reply : undefined;
        if (id === undefined)
          failures.push(`${label}: an ok reply to a request of no known type: ${JSON.stringify(frame)}`);
      } else failures.push(`${label}: a frame of no documented kind: ${JSON.stringify(frame).slice(0, 200)}`);
      if (id === undefined) return;
      const validate = validators[id];
      if (validate === undefined) return void failures.push(`${label}: ${id} is not documented`);
      if (!validate(frame)) failures.push(`${label}: ${id} ${describeErrors(validate.errors)}`);
      // AsyncAPI: every message on a channel matches one and only one of the channel's messages.
      const matching = Object.keys(validators).filter((other) => validators[other]!(frame));
      if (matching.length > 1) failures.push(`${label}: matches several messages: ${matching.join(', ')}`);

      if (id === 'error') errorCodes.add(frame.error?.code);
      else if (id.startsWith('event.')) events.add(frame.event);
      else {
        okReplies.add(request.type);
        // What the hub accepted, the documented request schema accepts too.
        const requestValidator = validators[`request.${request.type}`]!;
        if (!requestValidator(request)) {
          failures.push(
            `${label}: the hub accepted a ${request.type} that the documented schema rejects: ${describeErrors(requestValidator.errors)}`,
          );
        }
      }
      // What the hub rejected for its shape, the documented request schema rejects too.
      if (id === 'error' && request?.type !== undefined && Object.hasOwn(REQUESTS, request.type)) {
        const type = request.type as RequestType;
        const shape =
          frame.error.code === 'invalid_envelope' ||
          (frame.error.code === 'invalid_request' && !REQUESTS[type].payload.safeParse(request.payload ?? {}).success);
        if (shape && validators[`request.${type}`]!(request)) {
          failures.push(
            `${label}: the documented schema accepts a ${type} that the hub rejected: ${frame.error.message}`,
          );
        }
      }
    }

    let reported = 0;
    /** Fails with the frames found wrong since the last call. */
    const assertNoFailures = () => {
      const fresh = failures.slice(reported);
      reported = failures.length;
      assert.deepEqual(fresh, [], fresh.join('\n'));
    };

    /** One agent connection on the raw WebSocket: every frame it receives is checked. */
    class RawAgent {
      private readonly ws: WebSocket;
      private readonly sent = new Map<string, any>();
      private readonly waiting = new Map<string, (frame: any) => void>();
      private readonly listeners = new Set<(frame: any) => void>();
      private counter = 0;
      readonly opened: Promise<void>;
      readonly closed: Promise<{ code: number; reason: string }>;
      received = 0;

      constructor(readonly name: string) {
        this.ws = new WebSocket(hub.wsUrl);
        this.opened = new Promise((resolve, reject) => {
          this.ws.once('open', () => resolve());
          this.ws.once('error', reject);
        });
        this.closed = new Promise((resolve) =>
          this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
        );
        this.ws.on('message', (data, isBinary) => {
          const label = `${this.name} frame ${++this.received}`;
          let frame: any;
          try {
            assert.equal(isBinary, false, 'the hub sends text frames only');
            frame = JSON.parse(String(data));
          } catch (error) {
            return void failures.push(`${label}: ${(error as Error).message}`);
          }
          const request = typeof frame.id === 'string' ? this.sent.get(frame.id) : undefined;
          check(label, frame, request);
          if (typeof frame.id === 'string') this.waiting.get(frame.id)?.(frame);
          for (const listener of this.listeners) listener(frame);
        });
      }

      static async connect(name: string, agent: object = {}): Promise<RawAgent> {
        const raw = new RawAgent(name);
        await raw.opened;
        await raw.ok('hello', { apiKey, agent: { name, ...agent } });
        return raw;
      }

      /** Sends a request frame (anything the test likes) and resolves with the reply to its id. */
      send(frame: Record<string, unknown>): Promise<any> {
        const id = typeof frame.id === 'string' ? frame.id : `${this.name}.${++this.counter}`;
        const full = { ...frame, id };
        this.sent.set(id, full);
        const reply = new Promise<any>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${this.name}: no reply to ${id}`)), 15_000);
          this.waiting.set(id, (f) => {
            clearTimeout(timer);
            this.waiting.delete(id);
            resolve(f);
          });
        });
        this.ws.send(JSON.stringify(full));
        return reply;
      }

      request(type: string, payload?: unknown, extra: Record<string, unknown> = {}): Promise<any> {
        return this.send({ type, ...(payload === undefined ? {} : { payload }), ...extra });
      }

      async ok(type: string, payload?: unknown, extra?: Record<string, unknown>): Promise<any> {
        const reply = await this.request(type, payload, extra);
        assert.equal(reply.ok, true, `${this.name} ${type}: ${JSON.stringify(reply.error)}`);
        return reply.payload;
      }

      async fails(type: string, payload: unknown, code: string, extra?: Record<string, unknown>): Promise<any> {
        const reply = await this.request(type, payload, extra);
        assert.equal(reply.ok, false, `${this.name} ${type} was expected to fail with ${code}`);
        assert.equal(reply.error.code, code, `${this.name} ${type}: ${reply.error.message}`);
        return reply.error;
      }

      /** Sends bytes as they are; the reply, if any, has no usable id. */
      raw(data: string | Buffer, binary = false): Promise<any> {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${this.name}: no answer to a raw frame`)), 15_000);
          const listener = (frame: any) => {
            if (frame.type !== 'reply') return;
            clearTimeout(timer);
            this.listeners.delete(listener);
            resolve(frame);
          };
          this.listeners.add(listener);
          this.ws.send(data, { binary });
        });
      }

      /** The next event of a name that satisfies the predicate; call before causing it. */
      event(name: string, predicate: (payload: any) => boolean = () => true): Promise<any> {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${this.name}: no ${name} event`)), 15_000);
          const listener = (frame: any) => {
            if (frame.type !== 'event' || frame.event !== name || !predicate(frame.payload)) return;
            clearTimeout(timer);
            this.listeners.delete(listener);
            resolve(frame.payload);
          };
          this.listeners.add(listener);
        });
      }

      close(): void {
        this.ws.close();
      }

      /** Stops reading the socket, so what the hub sends piles up in its buffers. */
      pause(): void {
        this.ws.pause();
      }

      resume(): void {
        this.ws.resume();
      }
    }

    before(async () => {
      backing = await startBacking('embedded');
      hub = await startTestHub(backing, {
        HUB_RATE_MESSAGES_PER_MIN: '20',
        HUB_RATE_REQUESTS_PER_MIN: '100000',
      });
      ({ key: apiKey } = await new Admin(hub.adminUrl).provision('protocol-schema'));
    });

    after(async () => {
      await hub?.shutdown('test finished');
      await backing?.stop();
    });

    let alpha: RawAgent;
    let beta: RawAgent;

    it('answers malformed and unauthenticated frames with documented errors', async () => {
      const stranger = new RawAgent('stranger');
      await stranger.opened;
      await stranger.fails('heartbeat', {}, 'unauthenticated');
      assert.equal((await stranger.raw(Buffer.from('{}'), true)).error.code, 'invalid_frame');
      assert.equal((await stranger.raw('{not json')).error.code, 'invalid_frame');
      const envelope = await stranger.send({ type: 'heartbeat', extra: true });
      assert.equal(envelope.error.code, 'invalid_envelope');
      const deep = await stranger.send({
        type: 'heartbeat',
        payload: { load: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) },
      });
      assert.equal(deep.error.rule, 'json_depth');
      await stranger.fails('hello', { apiKey }, 'invalid_request');
      const name = await stranger.fails('hello', { apiKey, agent: { name: 'n'.repeat(101) } }, 'limit_exceeded');
      assert.equal(name.rule, 'agent_name');
      await stranger.fails('hello', { apiKey: `rf_${'A'.repeat(43)}`, agent: { name: 'stranger' } }, 'unauthorized');
      assert.equal((await stranger.closed).code, 4001);
      assertNoFailures();
    });

    it('says hello, tells of presence and answers the roster', async () => {
      alpha = await RawAgent.connect('alpha', { capabilities: ['code'], tags: ['eu'] });
      const joined = alpha.event('presence.changed', (p) => p.joined.some((a: any) => a.name === 'beta'));
      beta = await RawAgent.connect('beta', { capabilities: ['gpu'] });
      await joined;
      await alpha.fails('hello', { apiKey, agent: { name: 'alpha' } }, 'already_authenticated');
      await alpha.fails('nope.nope', {}, 'unknown_type');
      await alpha.ok('heartbeat', { load: 0.5, status: 'busy' });
      await beta.ok('heartbeat');
      const roster = await alpha.ok('presence.roster');
      assert.deepEqual(
        roster.agents.map((a: any) => a.name),
        ['alpha', 'beta'],
      );
      assertNoFailures();
    });

    it('sends, delivers, acknowledges and fetches direct messages', async () => {
      const to = (await beta.ok('presence.roster')).agents.find((a: any) => a.name === 'beta').agentId;
      const dm = beta.event('dm');
      const receipt = await alpha.ok('dm.send', { to, body: { text: 'hi' } }, { idempotencyKey: 'k-dm' });
      assert.deepEqual((await dm).body, { text: 'hi' });
      assert.deepEqual(await alpha.ok('dm.send', { to, body: { text: 'hi' } }, { idempotencyKey: 'k-dm' }), receipt);
      await alpha.fails('memory.set', { key: 'k', value: 1 }, 'idempotency_key_reused', { idempotencyKey: 'k-dm' });
      await alpha.fails('dm.send', { to: 'ag_nobody', body: 1 }, 'not_found');
      const big = await alpha.fails('dm.send', { to, body: 'x'.repeat(110_000) }, 'limit_exceeded');
      assert.equal(big.rule, 'message_size');
      const frame = await alpha.fails('memory.set', { key: 'big', value: 'x'.repeat(1_100_000) }, 'limit_exceeded');
      assert.equal(frame.rule, 'frame_size');
      assert.equal((await beta.ok('dm.ack', { seq: receipt.seq })).ackedSeq, receipt.seq);
      await beta.fails('dm.ack', { seq: 99 }, 'invalid_request');
      assert.equal((await beta.ok('dm.fetch', { afterSeq: 0 })).messages.length, 1);
      assertNoFailures();
    });

    it('broadcasts activity and refuses it beyond the rate limit', async () => {
      const activity = beta.event('activity', (p) => p.activity.kind === 'build');
      await alpha.ok('activity.broadcast', { kind: 'build', data: { ok: true }, tags: ['ci'] });
      await activity;
      const plain = beta.event('activity', (p) => p.activity.kind === 'activity');
      await alpha.ok('activity.broadcast', { data: 1 });
      await plain;
      const spammer = await RawAgent.connect('spammer');
      let refusal: any;
      for (let i = 0; i < 25 && refusal === undefined; i++) {
        const reply = await spammer.request('activity.broadcast', { data: i });
        if (!reply.ok) refusal = reply.error;
      }
      assert.equal(refusal?.code, 'rate_limited');
      assert.equal(refusal.rule, 'rate_messages');
      spammer.close();
      assertNoFailures();
    });

    it('writes, reads, lists and deletes memory', async () => {
      const set = await alpha.ok('memory.set', { key: 'cfg/a', value: { x: 1 } }, { idempotencyKey: 'k-mem' });
      assert.deepEqual(
        await alpha.ok('memory.set', { key: 'cfg/a', value: { x: 1 } }, { idempotencyKey: 'k-mem' }),
        set,
      );
      await alpha.ok('memory.set', { key: 'cfg/b', value: [1, 2], ifVersion: 0 });
      await alpha.fails('memory.set', { key: 'cfg/a', value: 2, ifVersion: 5 }, 'conflict');
      assert.deepEqual((await beta.ok('memory.get', { key: 'cfg/a' })).value, { x: 1 });
      await beta.fails('memory.get', { key: 'cfg/none' }, 'not_found');
      const page = await beta.ok('memory.list', { prefix: 'cfg/', limit: 1 });
      assert.equal(page.next, 'cfg/a');
      assert.equal((await beta.ok('memory.list', { prefix: 'cfg/', after: page.next })).next, undefined);
      const deleted = await alpha.ok('memory.delete', { key: 'cfg/b' }, { idempotencyKey: 'k-del' });
      assert.deepEqual(await alpha.ok('memory.delete', { key: 'cfg/b' }, { idempotencyKey: 'k-del' }), deleted);
      assert.equal((await alpha.ok('memory.delete', { key: 'cfg/b' })).deleted, false);
      assertNoFailures();
    });

    it('submits, assigns, claims and finishes tasks', async () => {
      let assigned = beta.event('task.assigned');
      const submitted = (
        await alpha.ok('task.submit', { capabilities: ['gpu'], payload: { n: 1 } }, { idempotencyKey: 'k-task' })
      ).task;
      const replayed = (
        await alpha.ok('task.submit', { capabilities: ['gpu'], payload: { n: 1 } }, { idempotencyKey: 'k-task' })
      ).task;
      assert.equal(replayed.id, submitted.id);
      assert.equal((await assigned).id, submitted.id);
      await beta.ok('task.claim', { taskId: submitted.id });
      let finished = alpha.event('task.finished');
      const result = await beta.ok(
        'task.result',
        { taskId: submitted.id, result: { sum: 3 } },
        { idempotencyKey: 'k-res' },
      );
      assert.deepEqual(
        await beta.ok('task.result', { taskId: submitted.id, result: { sum: 3 } }, { idempotencyKey: 'k-res' }),
        result,
      );
      assert.equal((await finished).status, 'completed');
      assert.equal((await alpha.ok('task.get', { taskId: submitted.id })).task.status, 'completed');
      await beta.fails('task.claim', { taskId: submitted.id }, 'conflict');
      await alpha.fails('task.get', { taskId: 'tsk_nothing' }, 'not_found');

      assigned = beta.event('task.assigned');
      const second = (await alpha.ok('task.submit', { capabilities: ['gpu'], payload: null })).task;
      await assigned;
      await beta.fails('task.result', { taskId: second.id, result: 1, error: 'both' }, 'invalid_request');
      finished = alpha.event('task.finished');
      await beta.ok('task.result', { taskId: second.id, error: 'out of memory' });
      assert.equal((await finished).status, 'failed');
      assertNoFailures();
    });

    it('tells the fleet when an agent leaves', async () => {
      const left = alpha.event('presence.changed', (p) => p.left.some((a: any) => a.name === 'beta'));
      beta.close();
      await left;
      assertNoFailures();
    });

    it('refuses requests beyond the queue', async () => {
      const busy = await RawAgent.connect('busy');
      await busy.ok('memory.set', { key: 'blob', value: 'x'.repeat(900_000) });
      // While the agent reads nothing, the hub stops answering once 1 MB waits for it, so the
      // requests behind pile up in the queue.
      busy.pause();
      const gets = Array.from({ length: 24 }, () => busy.request('memory.get', { key: 'blob' }));
      const heartbeats = Array.from({ length: 300 }, () => busy.request('heartbeat'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      busy.resume();
      const replies = await Promise.all([...gets, ...heartbeats]);
      assert.ok(
        replies.some((r) => r.error?.code === 'overloaded'),
        'no request was refused as overloaded',
      );
      assert.ok(replies.slice(0, gets.length).every((r) => r.ok));
      assertNoFailures();
    });

    it('sent only documented frames, and every request type, event and error was seen', () => {
      assert.ok(shapesAgree.every(Boolean));
      assert.deepEqual(failures, [], failures.join('\n'));
      assert.ok(framesSeen > 100, `only ${framesSeen} frames`);
      assert.deepEqual([...okReplies].sort(), [...REQUEST_TYPES].sort());
      assert.deepEqual([...events].sort(), [...EVENT_NAMES].sort());
      // Not caused here: `draining` needs a frame to arrive between the start of a drain and the
      // end of the session's queue; `internal` is never caused by input.
      const never = ['draining', 'internal'];
      const documented = (errorBodySchema.shape.code.options as string[]).filter((c) => !never.includes(c));
      assert.deepEqual([...errorCodes].sort(), documented.sort());
    });
  });
});
