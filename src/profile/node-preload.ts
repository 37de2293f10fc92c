// The Node preload (issue 4): being written.
export {};
