"""Output formats. Each is one module with a `write(result, path, options)` function, registered
in the `auditor.outputs` entry-point group under the file extension it serves."""
