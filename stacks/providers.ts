import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider/index.js';
import type { TerraformStack } from 'cdktf';
import { HcloudProvider } from '../.gen/providers/hcloud/provider';

/**
 * Provider versions, pinned exactly; scripts/toolchain.env builds the same versions for
 * `npm run validate`. The hcloud pin comes from its generated bindings.
 */
export const CLOUDFLARE_PROVIDER_VERSION = '5.24.0';

/** Hetzner Cloud; the token comes from HCLOUD_TOKEN in the operator's environment. */
export const useHcloud = (stack: TerraformStack): HcloudProvider => new HcloudProvider(stack, 'hcloud', {});

/** Cloudflare; the token comes from CLOUDFLARE_API_TOKEN in the operator's environment. */
export function useCloudflare(stack: TerraformStack): CloudflareProvider {
  const provider = new CloudflareProvider(stack, 'cloudflare', {});
  // The prebuilt bindings ask for "~> 5.0"; pin the version that validation proved.
  stack.addOverride('terraform.required_providers.cloudflare.version', CLOUDFLARE_PROVIDER_VERSION);
  return provider;
}
