import { z } from 'zod';

/** Param schema pieces shared by the rule kinds, with the messages config errors print. */
const POSITIVE = 'expected a positive number';

export const positiveMs = (def: number) =>
  z.number({ error: POSITIVE }).positive({ error: POSITIVE }).default(def);
