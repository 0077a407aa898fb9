//! Arrow record batches to and from Parquet bytes (Snappy-compressed, deterministic output).

use arrow::array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Encodes batches (all with the first batch's schema) as one Parquet file.
pub fn encode(batches: &[RecordBatch]) -> Result<Bytes, String> {
    let Some(first) = batches.first() else {
        return Err("nothing to write".into());
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by("alpha-engine".into())
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, first.schema(), Some(props)).map_err(|e| e.to_string())?;
    for b in batches {
        w.write(b).map_err(|e| e.to_string())?;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok(Bytes::from(buf))
}

/// Decodes a Parquet file into record batches.
///
/// A corrupt file is an error, never a panic: the `parquet` crate panics on some malformed inputs
/// (found by fuzzing: an RLE run header whose varint overflows its shift), so the decoder runs
/// under `catch_unwind` and a panic inside it becomes an error naming it.
pub fn decode(bytes: Bytes) -> Result<Vec<RecordBatch>, String> {
    std::panic::catch_unwind(move || decode_unguarded(bytes)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(format!("corrupt Parquet: the decoder failed ({why})"))
    })
}

fn decode_unguarded(bytes: Bytes) -> Result<Vec<RecordBatch>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| e.to_string())?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_file_that_panics_the_parquet_decoder_is_an_error() {
        // Found by the parquet_chunk fuzz target: the parquet crate panics inside its RLE decoder.
        let corrupt: &[u8] =
            include_bytes!("../fuzz-targets/corpus/parquet_chunk/crash-75188cfa86181787ef5d7a0a3a442d880db7a48b");
        assert!(decode(Bytes::from_static(corrupt)).is_err());
    }
}
