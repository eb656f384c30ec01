# SPDX-License-Identifier: MIT
# Installs azure-vnet.exe, azure-vnet-ipam.exe and azure-vnet-inspect.exe (the operator's
# inspection command) into C:\k\azurecni\bin (the path the Go plugin's Windows deployment
# uses). The node's own conflist is left alone: it holds the node's DNS, OutBoundNAT exceptions
# and ACLs. Only with -InstallConflist is the sample conflist copied
# into C:\k\azurecni\netconf (replacing the node's).
# Each new file is first copied to a temporary name beside its target. A program a running CNI
# call executes cannot be overwritten or deleted on Windows, but it can be renamed: the old exe
# is renamed to <name>.old (the Go installer's name) and the new one renamed into place, so a
# call finds either program whole; the .old file is deleted when no call holds it any more,
# else on the next install.
# Usage (elevated PowerShell, from the folder holding the files):
#   .\install.ps1 [-Source <dir>] [-BinDir C:\k\azurecni\bin]
#                 [-InstallConflist [-ConfDir C:\k\azurecni\netconf] [-Conflist 10-azure.conflist]]
[CmdletBinding()]
param(
    [string]$Source = $PSScriptRoot,
    [string]$BinDir = 'C:\k\azurecni\bin',
    [switch]$InstallConflist,
    [string]$ConfDir = 'C:\k\azurecni\netconf',
    [string]$Conflist = '10-azure.conflist'
)
$ErrorActionPreference = 'Stop'

# Copy $From to a temporary name in $ToDir; returns the target path and the temporary one.
function Copy-Beside([string]$From, [string]$ToDir) {
    if (-not (Test-Path -LiteralPath $From -PathType Leaf)) {
        throw "missing $From"
    }
    New-Item -ItemType Directory -Force -Path $ToDir | Out-Null
    $name = Split-Path -Leaf $From
    $target = Join-Path $ToDir $name
    $tmp = Join-Path $ToDir ".$name.new"
    Copy-Item -LiteralPath $From -Destination $tmp -Force
    return $target, $tmp
}

# Delete $Path if nothing holds it open; $true when it is gone.
function Remove-IfFree([string]$Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return $true }
    try {
        Remove-Item -LiteralPath $Path -Force
        return $true
    } catch {
        return $false
    }
}

# A program: the old one renamed aside (.old, or .old-<time> while an older .old is still run),
# the new one renamed into place; on failure the old one is put back.
function Install-Program([string]$From, [string]$ToDir) {
    $target, $tmp = Copy-Beside $From $ToDir
    $old = $null
    if (Test-Path -LiteralPath $target) {
        $old = "$target.old"
        if (-not (Remove-IfFree $old)) {
            $old = "$target.old-" + (Get-Date -Format 'yyyyMMddHHmmss')
        }
        Rename-Item -LiteralPath $target -NewName (Split-Path -Leaf $old)
    }
    try {
        Rename-Item -LiteralPath $tmp -NewName (Split-Path -Leaf $target)
    } catch {
        if ($old) { Rename-Item -LiteralPath $old -NewName (Split-Path -Leaf $target) }
        Remove-IfFree $tmp | Out-Null
        throw
    }
    if ($old -and -not (Remove-IfFree $old)) {
        Write-Host "kept $old (a CNI call is running it; the next install deletes it)"
    }
    Write-Host "installed $target"
}

# A data file: one rename over the target.
function Install-Data([string]$From, [string]$ToDir) {
    $target, $tmp = Copy-Beside $From $ToDir
    Move-Item -LiteralPath $tmp -Destination $target -Force
    Write-Host "installed $target"
}

# HCN (computenetwork.dll) ships with Windows Server 2019 / Windows 10 1809 and later.
if (-not (Test-Path (Join-Path $env:SystemRoot 'System32\computenetwork.dll'))) {
    Write-Warning 'computenetwork.dll not found: azure-vnet.exe needs Windows Server 2019 or later'
}

foreach ($exe in 'azure-vnet.exe', 'azure-vnet-ipam.exe', 'azure-vnet-inspect.exe') {
    Install-Program (Join-Path $Source $exe) $BinDir
}
if ($InstallConflist) {
    Install-Data (Join-Path $Source $Conflist) $ConfDir
} else {
    Write-Host "conflist not installed (the node's own is kept; -InstallConflist installs $Conflist)"
}
& (Join-Path $BinDir 'azure-vnet.exe') -v
