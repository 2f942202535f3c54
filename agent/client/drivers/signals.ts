/** Signal names in task configs and signal requests, checked the same way by every process driver. */
import { constants as osConstants } from 'node:os';
import { NomadError } from '../../core/lib/index.js';

export function isSignal(name: string): name is NodeJS.Signals {
  return Object.prototype.hasOwnProperty.call(osConstants.signals, name);
}

/**
 * `signal` as a signal the OS knows (`fallback` when empty, for a task's kill_signal), or an
 * `invalid_argument` error naming the driver and the field.
 */
export function requireSignal(driver: string, signal: string, field: 'kill_signal' | 'signal', fallback?: NodeJS.Signals): NodeJS.Signals {
  const name = signal === '' && fallback !== undefined ? fallback : signal;
  if (!isSignal(name)) throw new NomadError('invalid_argument', `${driver}: unknown ${field === 'kill_signal' ? 'kill signal' : 'signal'} ${JSON.stringify(signal)}`, { field });
  return name;
}
