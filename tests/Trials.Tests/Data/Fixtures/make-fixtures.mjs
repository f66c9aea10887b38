// Writes the Feather (Arrow IPC file) and Parquet fixtures of the loader tests with a writer that is
// not ours: Polars (Rust, through its Node binding), as a physicist's uproot -> DataFrame -> file
// step would. pandas/pyarrow are not served here (no PyPI; Debian 12 has no python3-pyarrow).
// The source values go to expected.json, which the tests compare every loaded file against.
//
//   cd tests/Trials.Tests/Data/Fixtures && npm ci && node make-fixtures.mjs
//
// Deterministic: rerunning rewrites identical values.
import pl from "nodejs-polars";
import { writeFileSync } from "node:fs";

const rows = 40;
const masses = [500, 750, 1000];
const cols = { f0: [], f1: [], f2: [], label: [], mass: [], weight: [], process: [], window: [] };
for (let r = 0; r < rows; r++) {
  const signal = r % 2 === 0;
  cols.f0.push(Math.fround(((r * 37) % 101) / 8 - 6.25));   // exactly representable as float32
  cols.f1.push(Math.sin(r + 0.5) * 1000 + r / 3);            // full float64
  cols.f2.push((r * 13) % 29 - 14);                          // integer feature
  cols.label.push(signal ? 1 : 0);
  // Background rows carry no mass (null, as pandas writes NaN), except every fourth row: a stored
  // random mass like the HEPMASS files, so 'background_mass: stored' has something to read.
  cols.mass.push(signal ? masses[(r / 2) % 3] : r % 4 === 1 ? 400 + 10 * r : null);
  cols.weight.push(signal ? 0.5 : 1.25 + r / 100);
  cols.process.push(signal ? "signal" : r % 3 === 0 ? "ttbar" : "wjets");
  cols.window.push(Math.fround((r * 0.75) ** 2));
}

const frame = () => pl.DataFrame([
  pl.Series("f0", cols.f0, pl.Float32),
  pl.Series("f1", cols.f1, pl.Float64),
  pl.Series("f2", cols.f2, pl.Int32),
  pl.Series("label", cols.label, pl.Int64),
  pl.Series("mass", cols.mass, pl.Float64),
  pl.Series("weight", cols.weight, pl.Float64),
  pl.Series("process", cols.process, pl.Utf8),
  pl.Series("window", cols.window, pl.Float32),
]);

const df = frame();
// Several record batches / row groups, so the loaders' streaming over chunks is exercised.
const chunked = pl.concat([df.slice(0, 15), df.slice(15, 10), df.slice(25, 15)], { how: "vertical", rechunk: false });

for (const compression of ["uncompressed", "lz4", "zstd"])
  chunked.writeIPC(`events-${compression}.feather`, { compression });
for (const compression of ["uncompressed", "snappy", "gzip", "zstd"])
  df.writeParquet(`events-${compression}.parquet`, { compression, rowGroupSize: 16 });

// Categorical (dictionary-encoded) process names, as pandas' category dtype writes them.
const categorical = df.withColumns(pl.col("process").cast(pl.Categorical));
categorical.writeIPC("events-categorical.feather", { compression: "uncompressed" });
categorical.writeParquet("events-categorical.parquet", { compression: "snappy" });

// The mass column as text: the loaders must name the file, the column and the type.
const text = df.withColumns(pl.col("mass").cast(pl.Utf8));
text.writeIPC("mass-as-text.feather", { compression: "uncompressed" });
text.writeParquet("mass-as-text.parquet", { compression: "uncompressed" });

writeFileSync("expected.json", JSON.stringify(cols, null, 1) + "\n");
