// A small tar reader for npm package tarballs: ustar headers, GNU long names (L), pax headers (x, g).
// Streams entries to a callback, which consumes or skips each one's content; no dependency.

export class TarFormatError extends Error {
    override name = "TarFormatError";
}

export type TarEntry = {name: string; type: string; size: number};

/** an entry's content: the callback must consume it (`forEach`, which awaits a promise the sink returns) or `skip` it */
export type TarContent = {
    forEach: (sink: (piece: Buffer) => unknown) => Promise<void>;
    skip: () => Promise<void>;
};

const blockSize = 512;
const noDataTypes = new Set(["1", "2", "3", "4", "5", "6"]);
/** long names and pax records are read into memory; a real one is a few hundred bytes */
const maxMetadataEntryBytes = 1 << 20;

export async function readTar(source: AsyncIterable<Buffer>, onEntry: (entry: TarEntry, content: TarContent) => Promise<void>): Promise<void> {
    const reader = new ChunkReader(source[Symbol.asyncIterator]());
    let longName: string | undefined;
    let paxPath: string | undefined;
    let paxSize: number | undefined;
    for (;;) {
        const header = await reader.read(blockSize);
        // an archive ends with two zero blocks; one is enough to stop, and so is a clean end of data
        if (header.length === 0 || header.every((byte) => byte === 0)) return;
        if (header.length < blockSize) throw new TarFormatError("the archive ends inside a header");
        checkHeaderChecksum(header);

        const type = String.fromCharCode(header[156]);
        if (type === "L" || type === "x" || type === "g" || type === "K") {
            const size = readNumber(header.subarray(124, 136));
            const padded = Math.ceil(size / blockSize) * blockSize;
            if (size > maxMetadataEntryBytes) throw new TarFormatError(`a ${size}-byte "${type}" header`);
            const body = await reader.read(padded);
            if (body.length < padded) throw new TarFormatError("the archive ends inside an entry");
            const content = body.subarray(0, size);
            if (type === "L") longName = readString(content);
            else if (type === "x") {
                const records = parsePaxRecords(content);
                paxPath = records.get("path") ?? paxPath;
                paxSize = records.has("size") ? Number(records.get("size")) : paxSize;
                if (paxSize != null && !Number.isSafeInteger(paxSize)) throw new TarFormatError(`a pax size of "${records.get("size")}"`);
            }
            // g (global pax) and K (long link name) say nothing about which file an entry is
            continue;
        }

        const name = paxPath ?? longName ?? headerName(header);
        // links, devices, directories and fifos have no data blocks, whatever their size field says;
        // any other type (a regular file, or one we do not know) has `size` bytes of them
        const contentBytes = noDataTypes.has(type) ? 0 : (paxSize ?? readNumber(header.subarray(124, 136)));
        const contentPadded = Math.ceil(contentBytes / blockSize) * blockSize;
        longName = paxPath = paxSize = undefined;
        let consumed = false;
        const consume = async (sink?: (piece: Buffer) => unknown) => {
            if (consumed) throw new TarFormatError(`the content of ${name} was read twice`);
            consumed = true;
            if (!(await reader.forward(contentPadded, contentBytes, sink))) throw new TarFormatError(`the archive ends inside ${name}`);
        };
        await onEntry({name, type, size: contentBytes}, {forEach: (sink) => consume(sink), skip: () => consume()});
        if (!consumed) await consume();
    }
}

function headerName(header: Buffer): string {
    const name = readString(header.subarray(0, 100));
    // POSIX ustar splits long names into prefix/name; the GNU "ustar  " header uses that field otherwise
    const ustar = header.subarray(257, 263).toString("latin1") === "ustar\0";
    const prefix = ustar ? readString(header.subarray(345, 500)) : "";
    return prefix.length > 0 ? `${prefix}/${name}` : name;
}

function readString(bytes: Buffer): string {
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
}

/** octal text, or GNU's base-256 for sizes past 8 GB */
function readNumber(field: Buffer): number {
    if ((field[0] & 0x80) !== 0) {
        let value = field[0] & 0x7f;
        for (const byte of field.subarray(1)) value = value * 256 + byte;
        return value;
    }
    const text = field
        .toString("latin1")
        .replace(/[\0 ]+$/, "")
        .trim();
    if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`a header number "${text}"`);
    return text.length === 0 ? 0 : parseInt(text, 8);
}

/** the sum of the header's bytes with the checksum field as spaces; some old writers summed signed bytes */
function checkHeaderChecksum(header: Buffer): void {
    let unsigned = 0;
    let signed = 0;
    for (let index = 0; index < blockSize; index++) {
        const byte = index >= 148 && index < 156 ? 0x20 : header[index];
        unsigned += byte;
        signed += byte > 127 ? byte - 256 : byte;
    }
    const stored = readNumber(header.subarray(148, 156));
    if (stored !== unsigned && stored !== signed) throw new TarFormatError("a header with a wrong checksum");
}

/** pax records: `<length> <key>=<value>\n`, the length counting the whole record */
function parsePaxRecords(content: Buffer): Map<string, string> {
    const records = new Map<string, string>();
    let offset = 0;
    while (offset < content.length) {
        const space = content.indexOf(0x20, offset);
        const length = space < 0 ? Number.NaN : Number(content.subarray(offset, space).toString("latin1"));
        if (!Number.isSafeInteger(length) || length <= 0 || offset + length > content.length) throw new TarFormatError("a malformed pax header");
        const record = content.subarray(space + 1, offset + length - 1).toString("utf8");
        const equals = record.indexOf("=");
        if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
        offset += length;
    }
    return records;
}

/** exact-length reads over a stream of chunks of any size */
class ChunkReader {
    private buffer: Buffer = Buffer.alloc(0);
    private ended = false;

    constructor(private readonly iterator: AsyncIterator<Buffer>) {}

    /** `length` bytes, or fewer where the data ends */
    async read(length: number): Promise<Buffer> {
        while (this.buffer.length < length) {
            if (!(await this.fill())) break;
        }
        const result = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(result.length);
        return result;
    }

    /** passes the first `useful` of the next `length` bytes to `sink` as they come; false when the data ends first */
    async forward(length: number, useful: number, sink?: (piece: Buffer) => unknown): Promise<boolean> {
        let offset = 0;
        while (offset < length) {
            if (this.buffer.length === 0 && !(await this.fill())) return false;
            const piece = this.buffer.subarray(0, Math.min(length - offset, this.buffer.length));
            this.buffer = this.buffer.subarray(piece.length);
            if (sink != null && offset < useful) await sink(piece.subarray(0, Math.min(piece.length, useful - offset)));
            offset += piece.length;
        }
        return true;
    }

    private async fill(): Promise<boolean> {
        if (this.ended) return false;
        const next = await this.iterator.next();
        if (next.done) {
            this.ended = true;
            return false;
        }
        this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
        return true;
    }
}
