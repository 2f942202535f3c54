/** Where a command writes: the process's stdout/stderr, or a capture in tests. Light on purpose. */
export interface Out {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processOut: Out = {
  stdout: (s) => { process.stdout.write(s); },
  stderr: (s) => { process.stderr.write(s); },
};
