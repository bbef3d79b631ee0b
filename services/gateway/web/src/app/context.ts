import { createContext, useContext } from "react";
import type { LiveFeed } from "../live/feed";
import type { HostStore } from "../live/store";
import type { Session } from "./session";

export interface Services {
  session: Session;
  store: HostStore;
  feed: LiveFeed;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error("the app's services are not provided");
  return services;
}
