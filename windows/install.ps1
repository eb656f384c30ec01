# SPDX-License-Identifier: MIT
# Installs azure-vnet.exe, azure-vnet-ipam.exe and azure-vnet-inspect.exe (the operator's
# inspection command) into C:\k\azurecni\bin and the conflist into
# C:\k\azurecni\netconf (the paths the Go plugin's Windows deployment uses). Each file is copied
# to a temporary name beside its target, then renamed over it, so a CNI call never runs a
# half-written program.
# Usage (elevated PowerShell, from the folder holding the files):
#   .\install.ps1 [-Source <dir>] [-BinDir C:\k\azurecni\bin] [-ConfDir C:\k\azurecni\netconf]
#                 [-Conflist 10-azure.conflist]
[CmdletBinding()]
param(
    [string]$Source = $PSScriptRoot,
    [string]$BinDir = 'C:\k\azurecni\bin',
    [string]$ConfDir = 'C:\k\azurecni\netconf',
    [string]$Conflist = '10-azure.conflist'
)
$ErrorActionPreference = 'Stop'

function Install-One([string]$From, [string]$ToDir) {
    if (-not (Test-Path -LiteralPath $From -PathType Leaf)) {
        throw "missing $From"
    }
    New-Item -ItemType Directory -Force -Path $ToDir | Out-Null
    $name = Split-Path -Leaf $From
    $target = Join-Path $ToDir $name
    $tmp = Join-Path $ToDir ".$name.new"
    Copy-Item -LiteralPath $From -Destination $tmp -Force
    # One rename over the target; an exe being run by a CNI call is locked for a moment: retry.
    for ($i = 1; ; $i++) {
        try {
            Move-Item -LiteralPath $tmp -Destination $target -Force
            break
        } catch {
            if ($i -ge 20) { Remove-Item -LiteralPath $tmp -Force; throw }
            Start-Sleep -Milliseconds 250
        }
    }
    Write-Host "installed $target"
}

# HCN (computenetwork.dll) ships with Windows Server 2019 / Windows 10 1809 and later.
if (-not (Test-Path (Join-Path $env:SystemRoot 'System32\computenetwork.dll'))) {
    Write-Warning 'computenetwork.dll not found: azure-vnet.exe needs Windows Server 2019 or later'
}

foreach ($exe in 'azure-vnet.exe', 'azure-vnet-ipam.exe', 'azure-vnet-inspect.exe') {
    Install-One (Join-Path $Source $exe) $BinDir
}
Install-One (Join-Path $Source $Conflist) $ConfDir
& (Join-Path $BinDir 'azure-vnet.exe') -v
