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
pub fn decode(bytes: Bytes) -> Result<Vec<RecordBatch>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| e.to_string())?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}
