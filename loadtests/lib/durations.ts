/** k6 duration strings ('500ms', '30s', '1m30s', '1h'): one or more <number><unit> parts, summed. */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

export const DURATION_RULE = 'must be a duration like 500ms, 30s or 1m30s';

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** The duration in milliseconds; throws on anything that is not a k6 duration string. */
export function parseDuration(text: string): number {
  if (!isDuration(text)) throw new Error(`"${text}" ${DURATION_RULE}`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}
