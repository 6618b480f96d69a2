// Entry point for the cdktf CLI (`cdktf deploy <env>-<stack>`, see cdktf.json).
import { loadHetznerEnvironments } from '../environments/index.ts';
import { buildApp } from './app.ts';

buildApp(loadHetznerEnvironments()).app.synth();
