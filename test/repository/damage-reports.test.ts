/**
 * Damage is named as damage: a damaged key file is not a "wrong password", and a damaged
 * version is listed (exit 3), never silently left out.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

async function twoVersions(): Promise<{ haven: HavenSandbox; repo: string; ids: string[] }> {
  const haven = havenSandbox();
  const source = path.join(haven.root, 'docs');
  mkdirSync(source);
  writeFileSync(path.join(haven.root, 'pass'), 'a passphrase\n', { mode: 0o600 });
  const repo = path.join(haven.root, 'repo');
  await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', path.join(haven.root, 'pass')]);
  const ids: string[] = [];
  for (const text of ['one', 'two']) {
    writeFileSync(path.join(source, 'a.txt'), text);
    ids.push((await haven.json<{ snapshot: string }>(['run', 'docs'])).snapshot);
  }
  return { haven, repo, ids };
}

describe('damage reports', () => {
  it('says a key file is damaged (exit 1), and still says "wrong password" (exit 12) for a wrong password', async () => {
    const { haven, repo } = await twoVersions();
    const wrong = await haven.run(['snapshots', 'docs'], { env: { HAVEN_PASSWORD: 'not the passphrase' } });
    expect(wrong.code).to.equal(12);
    expect(wrong.stderr).to.contain('wrong password');

    const [keyName] = readdirSync(path.join(repo, 'keys'));
    const keyFile = path.join(repo, 'keys', keyName);
    const key = JSON.parse(readFileSync(keyFile, 'utf8'));
    // One flipped bit in the wrapped keys: AES-GCM alone cannot tell this from a wrong password.
    const data = Buffer.from(key.data, 'base64');
    data[20] ^= 0x01;
    writeFileSync(keyFile, JSON.stringify({ ...key, data: data.toString('base64') }));
    const damaged = await haven.run(['snapshots', 'docs']);
    expect(damaged.code, damaged.stderr).to.equal(1);
    expect(damaged.stderr).to.contain(`key file keys/${keyName}`).and.contain('is damaged').and.not.contain('wrong password');

    writeFileSync(keyFile, '{"kdf": "scrypt", "N": 32');
    const truncated = await haven.run(['snapshots', 'docs']);
    expect(truncated.code).to.equal(1);
    expect(truncated.stderr).to.contain('not valid JSON');
  });

  it('lists a damaged version as damaged and exits 3', async () => {
    const { haven, repo, ids } = await twoVersions();
    const file = path.join(repo, 'snapshots', ids[0]);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(file, bytes);
    const text = await haven.run(['snapshots', 'docs']);
    expect(text.code).to.equal(3);
    expect(text.stdout).to.match(new RegExp(`${ids[0].slice(0, 8)}\\s+DAMAGED`));
    expect(text.stdout).to.contain(ids[1].slice(0, 8));
    const json = await haven.run(['snapshots', 'docs', '--json']);
    expect(json.code).to.equal(3);
    const list = JSON.parse(json.stdout) as Array<{ id: string; damaged?: boolean; error?: string }>;
    expect(list.map((s) => s.id).sort()).to.deep.equal([...ids].sort());
    expect(list.find((s) => s.id === ids[0])).to.include({ damaged: true });
    expect(list.find((s) => s.id === ids[0])!.error).to.contain('damaged');
  });
});
