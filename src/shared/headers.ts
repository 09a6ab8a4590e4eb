// Headers the router and the instances agree on.

/** Marks a mirrored copy of a live request: the instance answers it but does not audit it as served. */
export const MIRROR_HEADER = 'x-guardgate-mirror';

/** Sends a request to the standby color (a preview). */
export const PREVIEW_HEADER = 'x-guardgate-preview';
