import { stringify } from 'yaml';

/** The subset of cloud-config the kit writes. Typed, so a role cannot emit a misspelled key. */
export interface CloudConfig {
  readonly packages?: readonly string[];
  readonly writeFiles?: readonly { path: string; content: string; permissions?: string; owner?: string }[];
  readonly runcmd?: readonly (string | readonly string[])[];
}

/** Combines role fragments: packages are de-duplicated, files and commands keep their order. */
export function mergeCloudConfigs(...configs: readonly CloudConfig[]): CloudConfig {
  return {
    packages: [...new Set(configs.flatMap((c) => c.packages ?? []))],
    writeFiles: configs.flatMap((c) => c.writeFiles ?? []),
    runcmd: configs.flatMap((c) => c.runcmd ?? []),
  };
}

/**
 * Renders `#cloud-config` user data. Hardening that every server needs is applied here once:
 * no password logins over SSH, no root password, packages upgraded on first boot.
 */
export function renderCloudConfig(...fragments: readonly CloudConfig[]): string {
  const config = mergeCloudConfigs(...fragments);
  const doc = {
    ssh_pwauth: false,
    disable_root: false,
    chpasswd: { expire: false },
    package_update: true,
    package_upgrade: true,
    packages: config.packages ?? [],
    write_files: (config.writeFiles ?? []).map((f) => ({
      path: f.path,
      content: f.content,
      permissions: f.permissions ?? '0644',
      owner: f.owner ?? 'root:root',
    })),
    runcmd: [
      // Belt and braces: cloud images differ in which sshd_config.d drop-ins they ship.
      [
        'sh',
        '-c',
        "printf 'PasswordAuthentication no\\nKbdInteractiveAuthentication no\\n' > /etc/ssh/sshd_config.d/10-ringforge.conf",
      ],
      ['systemctl', 'reload', 'ssh'],
      ...(config.runcmd ?? []),
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
