import { expect } from 'chai';
import { validatePluginPackage } from '#core/plugins/plugin-manifest.js';

const valid = () => ({
  name: 'p',
  version: '1.2.3',
  main: 'index.js',
  engines: { haven: '^1.0.0' },
  haven: {
    id: 'good-one',
    displayName: 'Good',
    contributes: { storageProviders: [{ type: 'good', description: 'a good provider' }] },
    activationEvents: ['onStorageProvider:good'],
  },
});

describe('plugin manifest validation', () => {
  it('accepts a complete manifest', () => {
    const result = validatePluginPackage(valid());
    expect(result.ok).to.equal(true);
  });

  it('names every missing or malformed field', () => {
    const pkg = valid() as Record<string, any>;
    delete pkg.haven.displayName;
    pkg.haven.id = 'Not An Id';
    pkg.haven.activationEvents = ['sometimes'];
    const result = validatePluginPackage(pkg);
    expect(result.ok).to.equal(false);
    const problems = (result as { problems: string[] }).problems.join('\n');
    expect(problems).to.contain('haven.displayName: is required');
    expect(problems).to.match(/haven\.id: "Not An Id" is not valid/);
    expect(problems).to.match(/haven\.activationEvents\.0: "sometimes" is not valid/);
  });

  it('refuses a manifest without engines.haven, unknown fields and bad semver', () => {
    const pkg = valid() as Record<string, any>;
    pkg.engines = {};
    pkg.haven.colour = 'red';
    let result = validatePluginPackage(pkg);
    expect((result as { problems: string[] }).problems.join('\n')).to.contain('engines.haven: is required').and.contain('unknown field "colour"');
    const bad = valid();
    bad.version = 'one';
    bad.engines.haven = 'not a range!';
    result = validatePluginPackage(bad);
    expect((result as { problems: string[] }).problems).to.deep.equal([
      'version: "one" is not a semantic version',
      'engines.haven: "not a range!" is not a semver range',
    ]);
  });

  it('refuses a provider type listed twice in one manifest', () => {
    const pkg = valid();
    pkg.haven.contributes.storageProviders.push({ type: 'good', description: 'again' });
    const result = validatePluginPackage(pkg);
    expect((result as { problems: string[] }).problems[0]).to.contain('type "good" is listed twice');
  });
});
