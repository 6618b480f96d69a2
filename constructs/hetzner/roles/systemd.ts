/** A systemd unit file from sections of key/value pairs (keys may repeat via arrays). */
export function systemdUnit(sections: Record<string, Record<string, string | readonly string[]>>): string {
  return Object.entries(sections)
    .map(([section, entries]) => {
      const lines = Object.entries(entries).flatMap(([key, value]) =>
        (typeof value === 'string' ? [value] : value).map((v) => `${key}=${v}`),
      );
      return `[${section}]\n${lines.join('\n')}\n`;
    })
    .join('\n');
}
