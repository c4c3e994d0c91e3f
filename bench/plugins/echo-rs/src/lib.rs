//! The echo of bench/sandbox-call.bench.mjs written with the Rust SDK: the input copied into a fresh
//! output block, in the memory layout rustc produces (a 1 MiB stack below the data and the heap).

forgeone::handlers!(echo);

fn echo(input: &[u8]) -> forgeone::Result<Vec<u8>> {
    Ok(input.to_vec())
}
