/**
 * Haven's storage conformance kit on this plugin's store: one mocha test per case of the
 * BlobStore contract. Point it at each kind of LOCATION your users will have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeBlobStore } from '@haven/plugin-api/conformance';
import { provider } from '../dist/provider.js';

// TODO: a LOCATION of your medium (a test bucket, a share); as generated, a fresh folder.
const location = path.join(mkdtempSync(path.join(tmpdir(), '{{id}}-conformance-')), 'store');
after(() => rmSync(path.dirname(location), { recursive: true, force: true }));

describeBlobStore('{{type}} store', () => provider.open(provider.validateLocation(location), { create: true }), {
  // TODO: your store as it is when the medium cannot be reached (the server stopped, a wrong
  // host); as generated, a folder that is not there, as when its drive is unplugged.
  openUnreachable: async () => {
    const gone = provider.validateLocation(path.join(path.dirname(location), 'unplugged'));
    const store = await provider.open(gone, { create: true });
    rmSync(gone, { recursive: true, force: true });
    return store;
  },
});
