import { S3Backend, type TerraformStack } from 'cdktf';
import type { HetznerEnvironment } from '../environments/index.ts';

/**
 * Keeps a stack's state in the environment's S3-compatible bucket (Hetzner Object Storage or R2),
 * encrypted, with an S3 lock file so two operators cannot apply at once. Credentials come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the operator's environment, never from code.
 */
export function useRemoteState(stack: TerraformStack, env: HetznerEnvironment, stackName: string): S3Backend {
  const backend = new S3Backend(stack, {
    bucket: env.state.bucket,
    key: `ringforge/${env.name}/${stackName}.tfstate`,
    region: env.state.region,
    endpoints: { s3: env.state.endpoint },
    encrypt: true,
    usePathStyle: true,
    // Not AWS: skip the AWS-only account and region checks.
    skipCredentialsValidation: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
    skipMetadataApiCheck: true,
  });
  // S3-native locking (Terraform >= 1.10, OpenTofu >= 1.10); cdktf 0.21 has no typed prop for it.
  stack.addOverride('terraform.backend.s3.use_lockfile', true);
  return backend;
}
