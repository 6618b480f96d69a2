import type { HetznerEnvironment } from '../environments/index.ts';

/** Stack names are a contract with operators (`cdktf deploy dev-infra`) and with state keys. */
export const stackName = (env: HetznerEnvironment, part: string, region?: string): string =>
  [env.name, part, ...(env.regions.length > 1 && region ? [region] : [])].join('-');
