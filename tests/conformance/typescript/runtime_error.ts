function first<T>(xs: T[]): T {
  if (xs.length === 0) throw new Error("empty list");
  return xs[0];
}

console.log(first<number>([]));
