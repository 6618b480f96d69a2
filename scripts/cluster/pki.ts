/*
 * The cluster's certificates, made with openssl: a cluster CA and a front-proxy CA, and from them each
 * component's serving or client certificate. ECDSA P-256 keys, 0600, in the state directory only.
 * A certificate that exists and is valid for another day is kept, so `up` twice changes nothing.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { bridgeGateway, kubernetesServiceIp, nodes, pkiDir, type NodeLayout } from './layout.ts';

const days = 365;

export interface CertSpec {
  readonly name: string;
  readonly cn: string;
  readonly org?: string;
  readonly ca: 'ca' | 'front-proxy-ca';
  readonly usage: 'server' | 'client' | 'server,client';
  readonly sans?: readonly string[];
}

const apiserverSans = [
  'IP:127.0.0.1',
  `IP:${kubernetesServiceIp}`,
  `IP:${bridgeGateway}`,
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

/** Every leaf certificate; the kubeconfigs and flags refer to them by name. */
export const certs = {
  apiserver: { name: 'apiserver', cn: 'kube-apiserver', ca: 'ca', usage: 'server', sans: apiserverSans },
  apiserverKubeletClient: {
    name: 'apiserver-kubelet-client',
    cn: 'kube-apiserver-kubelet-client',
    org: 'system:masters',
    ca: 'ca',
    usage: 'client',
  },
  frontProxyClient: { name: 'front-proxy-client', cn: 'front-proxy-client', ca: 'front-proxy-ca', usage: 'client' },
  admin: { name: 'admin', cn: 'ringforge-admin', org: 'system:masters', ca: 'ca', usage: 'client' },
  controllerManager: {
    name: 'controller-manager',
    cn: 'system:kube-controller-manager',
    ca: 'ca',
    usage: 'client',
  },
  scheduler: { name: 'scheduler', cn: 'system:kube-scheduler', ca: 'ca', usage: 'client' },
  kubeProxy: { name: 'kube-proxy', cn: 'system:kube-proxy', ca: 'ca', usage: 'client' },
} as const satisfies Record<string, CertSpec>;

/**
 * A node's kubelet: its client identity `system:node:<name>` (the Node authorizer and NodeRestriction
 * let it change its own Node and pods only) and the certificate it serves on its node IP.
 */
export const kubeletCert = (node: NodeLayout): CertSpec => ({
  name: node.kubeletIdentity,
  cn: `system:node:${node.name}`,
  org: 'system:nodes',
  ca: 'ca',
  usage: 'server,client',
  sans: ['IP:127.0.0.1', `IP:${node.nodeIp}`, `DNS:${node.name}`, 'DNS:localhost'],
});

export const pki = {
  caCert: join(pkiDir, 'ca.crt'),
  caKey: join(pkiDir, 'ca.key'),
  frontProxyCaCert: join(pkiDir, 'front-proxy-ca.crt'),
  serviceAccountKey: join(pkiDir, 'sa.key'),
  serviceAccountPub: join(pkiDir, 'sa.pub'),
  cert: (spec: CertSpec) => join(pkiDir, `${spec.name}.crt`),
  key: (spec: CertSpec) => join(pkiDir, `${spec.name}.key`),
};

/** The certificate exists, is valid for another day, and names every address it should. */
async function stillValid(cert: string, sans: readonly string[] = []): Promise<boolean> {
  if (!existsSync(cert)) return false;
  const check = await $({
    nothrow: true,
    quiet: true,
  })`openssl x509 -checkend 86400 -noout -ext subjectAltName -in ${cert}`;
  const names = check.stdout.replace(/IP Address:/g, 'IP:');
  return check.exitCode === 0 && sans.every((san) => names.includes(san));
}

async function newKey(path: string): Promise<void> {
  await $({ quiet: true })`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${path}`;
  chmodSync(path, 0o600);
}

async function ensureCa(name: string, cn: string): Promise<boolean> {
  const cert = join(pkiDir, `${name}.crt`);
  if (await stillValid(cert)) return false;
  const key = join(pkiDir, `${name}.key`);
  await newKey(key);
  const extensions = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
  const args = [
    '-x509',
    '-new',
    '-key',
    key,
    '-subj',
    `/CN=${cn}`,
    '-days',
    String(days * 10),
    '-sha256',
    '-out',
    cert,
  ];
  await $({ quiet: true })`openssl req ${args} ${extensions.flatMap((e) => ['-addext', e])}`;
  return true;
}

async function ensureCert(spec: CertSpec, caRenewed: boolean): Promise<void> {
  const cert = pki.cert(spec);
  if (!caRenewed && (await stillValid(cert, spec.sans))) return;
  const key = pki.key(spec);
  const csr = join(pkiDir, `${spec.name}.csr`);
  const ext = join(pkiDir, `${spec.name}.ext`);
  await newKey(key);
  const subject = `${spec.org ? `/O=${spec.org}` : ''}/CN=${spec.cn}`;
  await $({ quiet: true })`openssl req -new -key ${key} -subj ${subject} -out ${csr}`;
  const usages = spec.usage
    .split(',')
    .map((u) => (u === 'server' ? 'serverAuth' : 'clientAuth'))
    .join(',');
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usages}`,
      ...(spec.sans ? [`subjectAltName=${spec.sans.join(',')}`] : []),
    ].join('\n') + '\n',
  );
  const caCert = join(pkiDir, `${spec.ca}.crt`);
  const caKey = join(pkiDir, `${spec.ca}.key`);
  const args = [
    '-req',
    '-in',
    csr,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    String(days),
    '-sha256',
  ];
  await $({ quiet: true })`openssl x509 ${args} -extfile ${ext} -out ${cert}`;
  await $`rm -f ${csr} ${ext}`.quiet();
}

/** Creates whatever certificate or key is missing or about to expire. */
export async function ensurePki(): Promise<void> {
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const caRenewed = await ensureCa('ca', 'ringforge-local-ca');
  const frontProxyRenewed = await ensureCa('front-proxy-ca', 'ringforge-local-front-proxy-ca');
  for (const spec of [...Object.values(certs), ...nodes.map(kubeletCert)]) {
    await ensureCert(spec, spec.ca === 'ca' ? caRenewed : frontProxyRenewed);
  }
  if (!existsSync(pki.serviceAccountKey)) {
    await newKey(pki.serviceAccountKey);
    await $({ quiet: true })`openssl pkey -in ${pki.serviceAccountKey} -pubout -out ${pki.serviceAccountPub}`;
  }
}
