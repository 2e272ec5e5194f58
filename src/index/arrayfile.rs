//! Flat, memory-mapped arrays of fixed-size elements: the on-disk form of
//! every per-image table in a generation (hashes, vectors, slots).
//!
//! A file is a 32-byte header (magic, format version, element size, count,
//! CRC-32 of the payload) followed by the elements, little-endian. Opening
//! checks magic, version and length, so a truncated or foreign file gives a
//! clear error instead of wrong answers; [`MappedArray::verify`] also checks
//! the checksum (a full read, so it is not done on every open).

use memmap2::Mmap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: usize = 32;
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ArrayFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a {expected} file (bad magic)")]
    BadMagic { path: PathBuf, expected: String },
    #[error("{path}: format version {found}, this build reads version {FORMAT_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: truncated or wrong size ({found} bytes, header says {expected})")]
    Length {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error("{path}: checksum mismatch: the file is damaged")]
    Checksum { path: PathBuf },
}

/// Writes `payload` (count elements of `elem_size` bytes) and fsyncs it.
pub fn write(
    path: &Path,
    magic: [u8; 8],
    elem_size: u32,
    payload: &[u8],
) -> Result<(), ArrayFileError> {
    let io = |source| ArrayFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    assert_eq!(
        payload.len() % elem_size as usize,
        0,
        "payload is not a whole number of elements"
    );
    let count = (payload.len() / elem_size as usize) as u64;
    let mut header = [0u8; HEADER];
    header[0..8].copy_from_slice(&magic);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&elem_size.to_le_bytes());
    header[16..24].copy_from_slice(&count.to_le_bytes());
    header[24..28].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let mut f = File::create(path).map_err(io)?;
    f.write_all(&header).map_err(io)?;
    f.write_all(payload).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Writes an array file element by element, for tables too large to
/// assemble in memory first: the header (with the count and checksum) is
/// written last, over a placeholder.
pub struct Writer {
    file: std::io::BufWriter<File>,
    path: PathBuf,
    magic: [u8; 8],
    elem_size: u32,
    bytes: u64,
    crc: crc32fast::Hasher,
}

impl Writer {
    pub fn create(path: &Path, magic: [u8; 8], elem_size: u32) -> Result<Writer, ArrayFileError> {
        let io = |source| ArrayFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::io::BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
        file.write_all(&[0u8; HEADER]).map_err(io)?;
        Ok(Writer {
            file,
            path: path.to_path_buf(),
            magic,
            elem_size,
            bytes: 0,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// Appends whole elements.
    pub fn push(&mut self, elements: &[u8]) -> Result<(), ArrayFileError> {
        assert_eq!(
            elements.len() % self.elem_size as usize,
            0,
            "not a whole number of elements"
        );
        self.crc.update(elements);
        self.bytes += elements.len() as u64;
        self.file
            .write_all(elements)
            .map_err(|source| ArrayFileError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Writes the header and fsyncs the file.
    pub fn finish(self) -> Result<(), ArrayFileError> {
        use std::io::{Seek, SeekFrom};
        let io = |source| ArrayFileError::Io {
            path: self.path.clone(),
            source,
        };
        let mut header = [0u8; HEADER];
        header[0..8].copy_from_slice(&self.magic);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&self.elem_size.to_le_bytes());
        header[16..24].copy_from_slice(&(self.bytes / self.elem_size as u64).to_le_bytes());
        header[24..28].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
        let mut f = self.file.into_inner().map_err(|e| io(e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&header).map_err(io)?;
        f.sync_all().map_err(io)
    }
}

/// A read-only mapping of an array file.
pub struct MappedArray {
    map: Option<Mmap>,
    /// For [`MappedArray::read`], which copies instead of mapping.
    file: File,
    path: PathBuf,
    elem_size: usize,
    len: usize,
    crc: u32,
}

impl MappedArray {
    pub fn open(
        path: &Path,
        magic: [u8; 8],
        elem_size: u32,
    ) -> Result<MappedArray, ArrayFileError> {
        let io = |source| ArrayFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let bad_len = |expected| ArrayFileError::Length {
            path: path.to_path_buf(),
            found: size,
            expected,
        };
        if size < HEADER as u64 {
            return Err(bad_len(HEADER as u64));
        }
        // SAFETY: generation files are written once, fsynced and never modified
        // in place (a new generation gets new files), so the map cannot change.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        if map[0..8] != magic {
            return Err(ArrayFileError::BadMagic {
                path: path.to_path_buf(),
                expected: String::from_utf8_lossy(&magic).trim().to_string(),
            });
        }
        let u32_at = |o: usize| u32::from_le_bytes(map[o..o + 4].try_into().unwrap());
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(ArrayFileError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        let es = u32_at(12);
        let count = u64::from_le_bytes(map[16..24].try_into().unwrap());
        // Checked: a flipped high bit of the count must not wrap around to
        // the file's size (the checksum covers the payload, not the count).
        let expected = count
            .checked_mul(es as u64)
            .and_then(|n| n.checked_add(HEADER as u64));
        if es != elem_size || expected != Some(size) {
            return Err(bad_len(expected.unwrap_or(u64::MAX)));
        }
        let crc = u32_at(24);
        // The header's spare bytes are written as zero: anything else is
        // damage (the payload's checksum does not cover them).
        if u32_at(28) != 0 {
            return Err(ArrayFileError::Checksum {
                path: path.to_path_buf(),
            });
        }
        Ok(MappedArray {
            map: (size > 0).then_some(map),
            file,
            path: path.to_path_buf(),
            elem_size: es as usize,
            len: count as usize,
            crc,
        })
    }

    /// Copies `count` elements from `first` with one positioned read
    /// rather than through the mapping. For a few scattered entries of a
    /// very large table: a page fault on a mapping maps the 16 pages
    /// around it into the process as well (the kernel's fault-around),
    /// so that mapped reads of 18 KB entries left ~35 MB more resident
    /// per search; read this way, the process holds only what it copied
    /// (the page cache still holds the file, shared and reclaimable).
    pub fn read(&self, first: usize, count: usize) -> Result<Vec<u8>, ArrayFileError> {
        use std::os::unix::fs::FileExt;
        assert!(first + count <= self.len, "read past the end");
        let mut buf = vec![0u8; count * self.elem_size];
        self.file
            .read_exact_at(&mut buf, (HEADER + first * self.elem_size) as u64)
            .map_err(|source| ArrayFileError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(buf)
    }

    /// Tells the kernel that reads will be scattered (a few entries of a
    /// large table per search), so that a page fault does not read ahead
    /// pages no search asked for. Advice only: a failure changes nothing.
    pub fn advise_random(&self) {
        if let Some(map) = &self.map {
            let _ = map.advise(memmap2::Advice::Random);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw bytes of all elements.
    pub fn payload(&self) -> &[u8] {
        self.map.as_ref().map(|m| &m[HEADER..]).unwrap_or(&[])
    }

    /// The bytes of element `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        &self.payload()[i * self.elem_size..(i + 1) * self.elem_size]
    }

    /// Reads the whole payload and compares it with the stored checksum.
    pub fn verify(&self) -> Result<(), ArrayFileError> {
        if crc32fast::hash(self.payload()) == self.crc {
            Ok(())
        } else {
            Err(ArrayFileError::Checksum {
                path: self.path.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_detection() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        let payload: Vec<u8> = (0..64u8).collect();
        write(&p, *b"TESTARR1", 8, &payload).unwrap();
        let a = MappedArray::open(&p, *b"TESTARR1", 8).unwrap();
        assert_eq!(a.len(), 8);
        assert_eq!(a.get(1), &payload[8..16]);
        a.verify().unwrap();
        drop(a);

        assert!(matches!(
            MappedArray::open(&p, *b"OTHERAR1", 8),
            Err(ArrayFileError::BadMagic { .. })
        ));
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let a = MappedArray::open(&p, *b"TESTARR1", 8).unwrap();
        assert!(matches!(a.verify(), Err(ArrayFileError::Checksum { .. })));
        // A count whose product with the element size wraps to the size.
        let mut wrapped = bytes.clone();
        wrapped[16..24].copy_from_slice(&(8u64 + (1 << 61)).to_le_bytes());
        std::fs::write(&p, &wrapped).unwrap();
        assert!(matches!(
            MappedArray::open(&p, *b"TESTARR1", 8),
            Err(ArrayFileError::Length { .. })
        ));
        bytes.truncate(50);
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            MappedArray::open(&p, *b"TESTARR1", 8),
            Err(ArrayFileError::Length { .. })
        ));
    }
}
