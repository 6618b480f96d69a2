/*
 * What the kit's charts share: text measured without a browser, axis steps people read easily, and
 * <text> elements that never run past the space they were given.
 */
import { escapeHtml } from './html.ts';

/** A generous estimate of a sans-serif string's width: ~0.6 em per character. */
export const textWidth = (text: string, fontSize: number) => text.length * fontSize * 0.6;

/** The longest prefix of `text` that fits in `width`, ellipsis included; the text itself when it fits. */
export function fitText(text: string, width: number, fontSize: number): string {
  if (textWidth(text, fontSize) <= width) return text;
  const chars = Math.max(1, Math.floor(width / (fontSize * 0.6)) - 1);
  return `${text.slice(0, chars).trimEnd()}…`;
}

/**
 * `text` in at most `maxLines` lines of `width`, broken between words; what does not fit in the
 * last line is cut with an ellipsis.
 */
export function wrapText(text: string, width: number, fontSize: number, maxLines: number): string[] {
  const lines: string[] = [];
  let rest = text.trim();
  while (lines.length < maxLines - 1 && textWidth(rest, fontSize) > width) {
    const fits = Math.floor(width / (fontSize * 0.6));
    const cut = rest.lastIndexOf(' ', fits);
    if (cut <= 0) break;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut + 1).trimStart();
  }
  return [...lines, fitText(rest, width, fontSize)];
}

export interface TextOptions {
  readonly size: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly fill?: string;
  readonly weight?: 'bold';
  /** When set, longer text is cut with an ellipsis and the whole of it shown on hover. */
  readonly maxWidth?: number;
  /** Shown on hover. @default the whole text when it was cut */
  readonly title?: string;
}

export function svgText(x: number, y: number, text: string, options: TextOptions): string {
  const shown = options.maxWidth === undefined ? text : fitText(text, options.maxWidth, options.size);
  const attributes = [
    `x="${round(x)}"`,
    `y="${round(y)}"`,
    `font-size="${options.size}"`,
    ...(options.anchor && options.anchor !== 'start' ? [`text-anchor="${options.anchor}"`] : []),
    ...(options.fill ? [`fill="${options.fill}"`] : []),
    ...(options.weight ? [`font-weight="${options.weight}"`] : []),
  ];
  const hover = options.title ?? (shown === text ? undefined : text);
  const title = hover === undefined ? '' : `<title>${escapeHtml(hover)}</title>`;
  return `<text ${attributes.join(' ')}>${title}${escapeHtml(shown)}</text>`;
}

export const round = (n: number) => Math.round(n * 10) / 10;

/** A 1, 2 or 5 times a power of ten step that cuts `span` into at most `maxSteps` parts. */
export function niceStep(span: number, maxSteps = 10): number {
  const raw = Math.max(span, Number.EPSILON) / maxSteps;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw * (1 - 1e-9))!;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/** A step for a seconds axis: whole seconds, then whole minutes and hours, never more than `maxSteps` parts. */
export function timeStep(spanSeconds: number, maxSteps = 10): number {
  const raw = spanSeconds / maxSteps;
  return raw <= 1
    ? niceStep(spanSeconds, maxSteps)
    : (TIME_STEPS.find((step) => step >= raw) ?? niceStep(spanSeconds, maxSteps));
}

/** 0, step, 2·step … up to and including `max` (float noise rounded away). */
export function ticks(max: number, step: number): number[] {
  const count = Math.floor(max / step + 1e-9);
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** A tick label with as many decimals as the step needs; thousands as k. */
export function formatTick(value: number, step: number): string {
  if (step >= 1000) return `${formatTick(value / 1000, step / 1000)}k`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(decimals);
}

/** Seconds as an axis label: 45s below two minutes, 2m or 2m30s above. */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Number(seconds.toPrecision(6))}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}

export const svgDocument = (width: number, height: number, label: string, parts: readonly string[]) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(label)}">${parts.join('')}</svg>`;
