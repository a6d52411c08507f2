; Inno Setup 6 script for WhyLab on Windows (NOT built or verified on the Linux build box).
;
; Build, on Windows, from the repository root after the PyInstaller bundle exists:
;   .venv\Scripts\pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\whylab.spec
;   copy %LOCALAPPDATA%\whylab\Cache\models\qwen2.5-coder-1.5b-instruct-q4_k_m.gguf dist\whylab\_internal\models\
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\whylab.iss
; Output: dist\whylab-0.1.0-windows-x64-setup.exe
;
; The bundle needs llama-server.exe: build it with CMake + MSVC from the same llama.cpp tree
; (see packaging/windows/README.md) and point WHYLAB_LLAMA_SERVER at it before PyInstaller.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "WhyLab"
#define SourceDir "..\..\dist\whylab"

[Setup]
AppId={{6F1D3C2A-9B7E-4E43-A4C1-5D0B7A1E2F31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=WhyLab developers
DefaultDirName={autopf}\WhyLab
DefaultGroupName=WhyLab
DisableProgramGroupPage=yes
; Per-user install by default (no admin prompt); the user may choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=whylab-{#AppVersion}-windows-x64-setup
SetupIconFile=whylab.ico
UninstallDisplayIcon={app}\whylab.exe
; The weights are ~1.1 GB and barely compress: fast LZMA2 settings keep builds short.
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=no
LicenseFile=..\..\resources\NOTICES.md
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\WhyLab"; Filename: "{app}\whylab.exe"; Parameters: "gui"
Name: "{autodesktop}\WhyLab"; Filename: "{app}\whylab.exe"; Parameters: "gui"; Tasks: desktopicon

[Run]
Filename: "{app}\whylab.exe"; Parameters: "gui"; Description: "{cm:LaunchProgram,WhyLab}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the program folder: projects, settings and keys (Windows Credential Manager) stay.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
