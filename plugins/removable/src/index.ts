/**
 * Plugin `removable`: declared in its manifest, not implemented yet. Its contribution is marked
 * `"available": false`, so the host never activates it and says so in `haven plugins info`
 * and when a task uses it. It registers nothing: it never pretends to back up.
 */
import type { PluginContext } from '@haven/plugin-api';

export function activate(context: PluginContext): void {
  context.log.debug('removable: declared only, not implemented in this version');
}
