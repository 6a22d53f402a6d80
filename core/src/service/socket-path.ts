/**
 * Where the system service listens: `HAVEN_SOCKET`, else /run/haven/haven.sock. A personal
 * service (`haven service --user`) listens in the user's runtime folder instead.
 */
import * as path from 'node:path';

export const SYSTEM_SOCKET = '/run/haven/haven.sock';

export function serviceSocketPath(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.HAVEN_SOCKET || SYSTEM_SOCKET);
}

export function userSocketPath(env: NodeJS.ProcessEnv, uid: number): string {
  if (env.HAVEN_SOCKET) return path.resolve(env.HAVEN_SOCKET);
  return path.join(env.XDG_RUNTIME_DIR || `/run/user/${uid}`, 'haven', 'haven.sock');
}
