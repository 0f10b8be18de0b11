; Inno Setup 6 script: dist\Switchboard-VERSION-setup.exe from the frozen folder dist\Switchboard.
; Per-user (no administrator rights): installs in %LOCALAPPDATA%\Programs\Switchboard, a Start-menu
; entry, and an optional "start at sign-in" task (the HKCU Run value "Switchboard", the same value the
; app's own launch-at-login switch writes). The uninstaller stops a running Switchboard first and
; removes that Run value whoever wrote it; the user's config, key and history stay.
;   iscc /DAppVersion=0.1.0 installer\windows\switchboard.iss   (installer/windows/build.sh does this)

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z
#endif
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"

[Setup]
AppId={{6D3B8C2A-5F1E-4C7B-9A2D-8E4F1B0C7A93}
AppName=Switchboard
AppVersion={#AppVersion}
AppVerName=Switchboard {#AppVersion}
AppPublisher=Switchboard
DefaultDirName={autopf}\Switchboard
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=Switchboard-{#AppVersion}-setup
SetupIconFile=..\..\build\windows\Switchboard.ico
UninstallDisplayIcon={app}\Switchboard.exe
UninstallDisplayName=Switchboard
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
; An upgrade closes a Switchboard still running after `stop` (PrepareToInstall) with the Restart Manager.
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "autostart"; Description: "Start Switchboard when I sign in"; Flags: unchecked

[Files]
Source: "..\..\dist\Switchboard\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Switchboard"; Filename: "{app}\Switchboard.exe"

[Registry]
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "Switchboard"; \
    ValueData: """{app}\Switchboard.exe"""; Tasks: autostart; Flags: uninsdeletevalue

[Run]
Filename: "{app}\Switchboard.exe"; Description: "Start Switchboard now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Graceful first (children stopped, history flushed), then whatever of this user's is still running.
Filename: "{app}\Switchboard.exe"; Parameters: "stop"; Flags: runhidden waituntilterminated; RunOnceId: "StopSwitchboard"
Filename: "{sys}\taskkill.exe"; Parameters: "/F /T /IM Switchboard.exe /FI ""USERNAME eq {username}"""; \
    Flags: runhidden waituntilterminated; RunOnceId: "KillSwitchboard"

[Code]
function PrepareToInstall(var NeedsRestart: Boolean): String;
var
  Code: Integer;
begin
  { An upgrade: ask the running Switchboard to quit gracefully before its files are replaced. }
  if FileExists(ExpandConstant('{app}\Switchboard.exe')) then
    Exec(ExpandConstant('{app}\Switchboard.exe'), 'stop', '', SW_HIDE, ewWaitUntilTerminated, Code);
  Result := '';
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  { The app's launch-at-login switch writes the same value without the installer knowing: remove it
    either way, so nothing starts a program that is gone. }
  if CurUninstallStep = usPostUninstall then
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', 'Switchboard');
end;
