/**
 * runcmd that binds the server's Hetzner volume (automounted under /mnt/HC_Volume_<id>, an id
 * unknown when user data is rendered) to a fixed path, before anything writes there.
 */
export const bindDataVolume = (path: string): string[] => [
  'sh',
  '-c',
  `vol=$(ls -d /mnt/HC_Volume_* | head -n 1) && mkdir -p ${path} && echo "$vol ${path} none bind 0 0" >> /etc/fstab && mount ${path}`,
];
