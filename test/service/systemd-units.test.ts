/**
 * The systemd units shipped in packaging/systemd agree with the code's defaults (where the
 * service listens and keeps its state) and pass `systemd-analyze verify`.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HAVEN_BIN, REPO_ROOT, tempDir } from '../helpers/haven-cli.js';
import { SYSTEM_SOCKET, userSocketPath } from '#core/service/socket-path.js';
import { SYSTEM_STATE_DIR } from '#core/config/haven-paths.js';

const UNITS = path.join(REPO_ROOT, 'packaging', 'systemd');

function settings(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of readFileSync(path.join(UNITS, unit), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) found.set(m[1], [...(found.get(m[1]) ?? []), m[2]]);
  }
  return found;
}

describe('systemd units', () => {
  it('haven.service starts "haven service" with the socket and state folders the code expects', () => {
    const unit = settings('haven.service');
    expect(unit.get('ExecStart')).to.deep.equal(['/usr/local/bin/haven service']);
    expect(unit.get('Environment')).to.include.members([`HAVEN_SOCKET=${SYSTEM_SOCKET}`, `HAVEN_HOME=${SYSTEM_STATE_DIR}`]);
    expect(`/run/${unit.get('RuntimeDirectory')![0]}`).to.equal(path.dirname(SYSTEM_SOCKET));
    expect(unit.get('RuntimeDirectoryMode')).to.deep.equal(['0755']);
    expect(`/var/lib/${unit.get('StateDirectory')![0]}`).to.equal(SYSTEM_STATE_DIR);
    // Workers become each user: the service must keep the capabilities that takes.
    expect(unit.get('CapabilityBoundingSet')![0].split(' ')).to.include.members(['CAP_SETUID', 'CAP_SETGID', 'CAP_DAC_READ_SEARCH']);
  });

  it('haven-user.service starts "haven service --user" where the CLI looks for it', () => {
    const unit = settings('haven-user.service');
    expect(unit.get('ExecStart')).to.deep.equal(['/usr/local/bin/haven service --user']);
    expect(path.join('/run/user/1000', unit.get('RuntimeDirectory')![0], 'haven.sock')).to.equal(userSocketPath({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000));
    expect(unit.get('RuntimeDirectoryMode')).to.deep.equal(['0700']);
  });

  it('haven.service passes systemd-analyze verify', () => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) throw new Error("systemd-analyze is missing: install Debian's systemd package (.ci/run does)");
    const dir = tempDir();
    // Verify checks that ExecStart's program exists: point it at this checkout's haven.
    const unit = readFileSync(path.join(UNITS, 'haven.service'), 'utf8').replaceAll('/usr/local/bin/haven', HAVEN_BIN);
    writeFileSync(path.join(dir, 'haven.service'), unit);
    execFileSync('systemd-analyze', ['verify', path.join(dir, 'haven.service')], { stdio: 'pipe' });
  });
});
