/**
 * The shape every translation must have: the English catalogue's keys, each a string. A German or
 * French catalogue that misses a key, or has one English does not, fails the type check.
 */
export type Catalogue<T> = { readonly [K in keyof T]: T[K] extends string ? string : Catalogue<T[K]> };
