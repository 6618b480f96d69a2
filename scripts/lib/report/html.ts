/*
 * A report document as one self-contained HTML page: inline CSS and SVG, no scripts, fonts or other
 * files, so it opens from disk anywhere, including a CI artifact viewer.
 */
import { statusText, type Block, type Cell, type ReportDocument, type Table } from './document.ts';

export const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.8rem}
.status{display:inline-block;padding:.2rem .6rem;border-radius:4px;color:#fff;font-size:1rem;vertical-align:middle}
.passed{background:#1e8449}.failed{background:#c0392b}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;font-size:14px}
th{background:#f4f6f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.good{color:#1e8449;font-weight:600}td.bad{color:#c0392b;font-weight:600}
code{background:#f4f6f7;padding:.1rem .3rem}ul.bad li{color:#c0392b}
figure{margin:.5rem 0 1rem}svg{max-width:100%;height:auto;font-family:system-ui,sans-serif}`;

function tableHtml(table: Table): string {
  const cell = (value: Cell, column: number) => {
    const classes = [
      ...(table.numeric?.includes(column) ? ['num'] : []),
      ...(typeof value === 'string' ? [] : [value.tone]),
    ];
    const text = typeof value === 'string' ? value : value.text;
    return `<td${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}>${escapeHtml(text)}</td>`;
  };
  const head = `<tr>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('\n');
  return `<h2>${escapeHtml(table.title)}</h2>\n<table>\n${head}\n${body}\n</table>`;
}

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'table':
      return tableHtml(block);
    case 'figure':
      return `<h2>${escapeHtml(block.title)}</h2>\n<figure>${block.svg}</figure>`;
    case 'list':
      return `<h2>${escapeHtml(block.title)}</h2>\n<ul${block.tone ? ` class="${block.tone}"` : ''}>${block.items
        .map((item) => `<li>${escapeHtml(item)}</li>`)
        .join('')}</ul>`;
  }
}

export function renderHtml(doc: ReportDocument): string {
  const status = statusText(doc.passed);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`${doc.title}: ${status}`)}</title>
<style>${STYLE}
</style></head><body>
<h1>${escapeHtml(doc.title)} <span class="status ${status.toLowerCase()}">${status}</span></h1>
<p>Command: <code>${escapeHtml(doc.command)}</code></p>
${doc.blocks.map(blockHtml).join('\n')}
</body></html>
`;
}
