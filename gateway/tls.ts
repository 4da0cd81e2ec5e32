// TLS material for wss://: the operator's cert and key when configured, otherwise a self-signed
// certificate for localhost made once and kept in the data directory (the official `openai` SDK
// only dials wss:, so a laptop needs TLS too).
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import selfsigned from 'selfsigned';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly selfSigned: boolean;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

export async function ensureTls(opts: { certFile?: string | undefined; keyFile?: string | undefined; dataDir: string }): Promise<TlsFiles> {
  if (opts.certFile && opts.keyFile) return { certFile: opts.certFile, keyFile: opts.keyFile, selfSigned: false };
  const dir = path.join(opts.dataDir, 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if ((await exists(certFile)) && (await exists(keyFile))) {
    const cert = new X509Certificate(await readFile(certFile));
    if (new Date(cert.validTo).getTime() > Date.now() + 24 * 3_600_000) return { certFile, keyFile, selfSigned: true };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 825 * 24 * 3_600_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await writeFile(certFile, pems.cert, { mode: 0o644 });
  return { certFile, keyFile, selfSigned: true };
}
