// Small schema pieces every configuration shares.
import { z } from 'zod';

/** A whole number above zero; numbers written as text (environment variables, flags) are read as numbers. */
export const positiveInt = z.coerce.number().int().positive();
