// The data-dependent recipe is resolved here for training; the rules live with the contract
// (src/protocol/recipe.ts) because the window shows the same resolution before a run starts.
export * from '../protocol/recipe.ts';
