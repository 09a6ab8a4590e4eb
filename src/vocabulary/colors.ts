// The two environments a release moves traffic between.

export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

export const isColor = (value: unknown): value is Color => value === 'blue' || value === 'green';
export const otherColor = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');
