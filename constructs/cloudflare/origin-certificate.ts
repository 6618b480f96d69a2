import { OriginCaCertificate } from '@cdktf/provider-cloudflare/lib/origin-ca-certificate/index.js';
import { Construct } from 'constructs';

export interface OriginCertificateProps {
  /** PEM certificate signing request; its private key stays with the operator, never in state. */
  readonly csr: string;
  /** Hostnames the certificate covers. */
  readonly hostnames: readonly string[];
  /**
   * Validity in days (Cloudflare allows 7, 30, 90, 365, 730, 1095 or 5475).
   * @default 5475
   */
  readonly validityDays?: number;
}

const VALIDITIES = [7, 30, 90, 365, 730, 1095, 5475];

/**
 * A Cloudflare Origin CA certificate for the origin's TLS terminator. Cloudflare trusts it for
 * full (strict) TLS; browsers never see it. Signed from an operator-made CSR, so the private
 * key is never in Terraform state.
 */
export class OriginCertificate extends Construct {
  readonly resource: OriginCaCertificate;

  constructor(scope: Construct, id: string, props: OriginCertificateProps) {
    super(scope, id);
    const validity = props.validityDays ?? 5475;
    if (!VALIDITIES.includes(validity)) {
      throw new Error(`validityDays must be one of ${VALIDITIES.join(', ')} (got ${validity})`);
    }
    if (props.hostnames.length === 0) throw new Error('hostnames must list at least one hostname (got none)');
    this.resource = new OriginCaCertificate(this, 'Resource', {
      csr: props.csr,
      hostnames: [...props.hostnames],
      requestType: 'origin-ecc',
      requestedValidity: validity,
    });
  }
}
