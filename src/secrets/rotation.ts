// Rotation: every refresh_interval the config file is loaded again, which re-reads every secret
// reference. When everything but the secret-sourced values is unchanged and a secret differs, the
// secret rotated, and the new config is swapped in exactly as a SIGHUP reload does (new requests
// see the new value, in-flight ones finish on the old snapshot). File edits wait for SIGHUP.
import { loadConfigFile, type LoadedConfig } from '../config/index.js';
import type { GatehouseConfig } from '../config/schema.js';
import { redactConfig } from '../admin/redact.js';

export interface RotationOptions {
  configPath: string;
  intervalMs: number;
  current(): { config: GatehouseConfig; secretPaths: readonly string[] };
  apply(loaded: LoadedConfig): Promise<void>;
  say(line: string): void;
}

export function startSecretRefresh(o: RotationOptions): { stop(): void; check(): Promise<boolean> } {
  let running = false;
  const check = async (): Promise<boolean> => {
    if (running) return false;
    running = true;
    try {
      const loaded = await loadConfigFile(o.configPath);
      const cur = o.current();
      if (JSON.stringify(loaded.config) === JSON.stringify(cur.config)) return false;
      const shape = (c: GatehouseConfig, paths: readonly string[]) => JSON.stringify(redactConfig(c, paths));
      if (shape(loaded.config, loaded.secretPaths) !== shape(cur.config, cur.secretPaths)) return false; // an edited file waits for SIGHUP
      await o.apply(loaded);
      o.say('secret references changed: new values applied');
      return true;
    } catch (err) {
      // A provider outage keeps the running values; the next round tries again.
      o.say(`secret refresh failed, keeping the current values: ${(err as { errors?: string[] }).errors?.join('; ') ?? (err as Error).message}`);
      return false;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), o.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), check };
}
