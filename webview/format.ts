// Number formats shared by the slider, the stats and the history, so one value reads the same everywhere.

export function formatRatio(ratio: number): string {
    return `${ratio.toFixed(2)}x`;
}

export function formatTokensPerSecond(tokensPerSecond: number): string {
    return tokensPerSecond >= 100 ? tokensPerSecond.toFixed(0) : tokensPerSecond.toFixed(1);
}

export function formatPercent(share: number): string {
    return `${(share * 100).toFixed(1)}%`;
}

export function formatTime(epochMs: number): string {
    const date = new Date(epochMs);
    const pad = (value: number): string => String(value).padStart(2, "0");
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Decimal units, as the download's confirmation and file managers show them: "1.1 GB". */
export function formatBytes(bytes: number): string {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
    }
    return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}
