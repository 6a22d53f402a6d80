import { expect } from 'chai';
import { renderProgressLine } from '#core/cli/progress.js';

describe('progress line', () => {
  it('shows files, bytes, rate and current file while totals are unknown', () => {
    const line = renderProgressLine('backup', { filesDone: 3, bytesDone: 10 * 1024 * 1024, currentPath: '/home/me/photo.raw' }, 2);
    expect(line).to.equal('backup | 3 files | 10.0 MiB | 5.0 MiB/s | photo.raw');
  });

  it('adds a bar, percentage and ETA once totals are known', () => {
    const line = renderProgressLine('backup', { filesDone: 5, filesTotal: 10, bytesDone: 50 * 1024 * 1024, bytesTotal: 200 * 1024 * 1024 }, 10, 10);
    expect(line).to.equal('backup | [███░░░░░░░]  25% | 5/10 files | 50.0 MiB of 200.0 MiB | 5.0 MiB/s | ETA 30 s');
  });
});
