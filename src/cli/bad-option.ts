import { HeadroomError } from '../errors.js';

/** An option's value that cannot be used: "--limit: "x" must be a whole number" (E_USAGE). */
export function badOption(option: string, problem: string): HeadroomError {
  return new HeadroomError('E_USAGE', `${option}: ${problem}`, { option });
}
