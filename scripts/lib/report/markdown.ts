/* A report document as Markdown: the same blocks as the HTML page, figures as their fallback tables. */
import { cellText, statusText, type Block, type ReportDocument, type Table } from './document.ts';

const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function markdownTable(table: Omit<Table, 'title'>): string[] {
  const align = table.columns.map((_, i) => (table.numeric?.includes(i) ? '---:' : '---'));
  return [
    `| ${table.columns.map(mdCell).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map((cell) => mdCell(cellText(cell))).join(' | ')} |`),
  ];
}

function blockMarkdown(block: Block): string[] {
  switch (block.kind) {
    case 'table':
      return [`## ${block.title}`, '', ...markdownTable(block), ''];
    case 'figure':
      return block.fallback ? [`## ${block.title}`, '', ...markdownTable(block.fallback), ''] : [];
    case 'list':
      return [`## ${block.title}`, '', ...block.items.map((item) => `- ${item}`), ''];
  }
}

export function renderMarkdown(doc: ReportDocument): string {
  return [
    `# ${doc.title}: ${statusText(doc.passed)}`,
    '',
    `Command: \`${doc.command}\``,
    '',
    ...doc.blocks.flatMap(blockMarkdown),
  ].join('\n');
}
