// The two environments a release moves traffic between.

/** The two colors, in a fixed order. */
export const COLORS = ['blue', 'green'] as const;
/** An environment: blue or green. */
export type Color = (typeof COLORS)[number];

/** Is this value a color (parsing input)? */
export const isColor = (value: unknown): value is Color => value === 'blue' || value === 'green';
/** The color that is not this one. */
export const otherColor = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');
